import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { missingBinaries, type RunResult, run } from "@infra/restic/src/testing/restic-sandbox";
import {
  type CorsRule,
  GarageStandIn,
  type GarageStandInOptions,
  type LayoutRole,
} from "./testing/garage-stand-in";
import { type Manifest, RenderedStack, runRenderedJob } from "./testing/rendered-stack";

/**
 * The store's jobs that reach its admin API, as synth renders them for cloud-a, run for real: an
 * app's bucket job (the first app of cloud-a that has buckets: Ente) and the store's layout job,
 * their rendered scripts with the jobs' variables, curl signing the S3 call with the app's key
 * (AWS SigV4). Garage's binary is not available here: a small HTTP server of the test stands in
 * for its admin API and the S3 calls that set a bucket's CORS (`testing/garage-stand-in.ts`), with
 * Garage's request and response shapes, and it verifies the SigV4 signature of what it receives,
 * computed from the key's secret, the region, the `s3` service and the canonical request, and the
 * document's Content-MD5. curl, jq and the rendered scripts are real.
 */

const missing = missingBinaries(["bash", "curl", "jq"]);
const namespace = "object-storage";
const corsMethods = ["GET", "PUT", "POST", "HEAD", "DELETE"];
const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");

describe("the store's jobs that reach its admin API, as synth renders them for cloud-a, run for real", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let rendered: RenderedStack;
  let workRoot: string;
  let runs = 0;
  const stores: GarageStandIn[] = [];
  const token = () => rendered.secretValue(namespace, "object-storage-secrets", "token");

  /** A store as its layout job leaves it: its one node holds the layout's one role. */
  async function startStore(options: Partial<GarageStandInOptions> = {}): Promise<GarageStandIn> {
    const nodeId = options.nodeId ?? randomBytes(32).toString("hex");
    const store = await GarageStandIn.start({
      token: token(),
      region: bucketEnv().S3_REGION,
      nodeId,
      layout: { version: 1, roles: [{ id: nodeId, zone: "cloud-a", capacity: 53687091200, tags: [] }] },
      ...options,
    });
    stores.push(store);
    return store;
  }

  /** Runs a rendered job with the store's Services replaced by the stand-in. */
  async function runJob(
    manifest: Manifest,
    store: GarageStandIn,
    overrides: Record<string, string> = {},
  ): Promise<RunResult> {
    const env = rendered.variables(manifest);
    return runRenderedJob(rendered, manifest, {
      workDir: join(workRoot, `run-${++runs}`),
      services: {
        [env.GARAGE_ADMIN_URL as string]: store.adminUrl,
        ...(env.S3_URL ? { [env.S3_URL]: store.s3Url } : {}),
      },
      overrides,
    });
  }

  let bucketJob: Manifest;
  const bucketEnv = () => rendered.variables(bucketJob);
  const buckets = () => (bucketEnv().BUCKETS as string).split(" ");
  const layoutJob = () => rendered.object("Job", namespace, "object-storage-layout");

  before(async () => {
    rendered = await RenderedStack.synth("cloud-a", ["object-storage", "ente"]);
    const jobs = rendered.objects.filter(
      (object) =>
        object.kind === "Job" &&
        object.metadata.namespace === namespace &&
        rendered.container(object).command?.includes("garage-bucket.sh"),
    );
    assert.ok(jobs[0], "synth rendered no bucket job for cloud-a");
    bucketJob = jobs[0];
    workRoot = await mkdtemp(join(tmpdir(), "garage-jobs-"));
  });

  after(async () => {
    for (const store of stores) await store.stop();
    if (workRoot) await rm(workRoot, { recursive: true, force: true });
  });

  describe("an app's bucket job", () => {
    let store: GarageStandIn;
    /** What one run calls for each bucket once the app's key exists in the store. */
    const perBucket = (created: boolean) =>
      buckets().flatMap((bucket) => [
        `GetBucketInfo ${bucket}`,
        ...(created ? [`CreateBucket ${bucket}`] : []),
        `AllowBucketKey ${bucket} read write`,
        `AllowBucketKey ${bucket} owner`,
        `PUT ${bucket}?cors`,
        `DenyBucketKey ${bucket} owner`,
      ]);
    const renderedCors = (): CorsRule[] => [
      {
        allowedOrigins: (bucketEnv().CORS_ORIGINS as string).split(" "),
        allowedMethods: corsMethods,
        allowedHeaders: ["*"],
        exposeHeaders: ["ETag"],
        maxAgeSeconds: 3600,
      },
    ];

    before(async () => {
      store = await startStore();
    });

    it("imports the app's key and creates its buckets on the first run, the key reading and writing them and owning them only while it sets their CORS", async () => {
      const env = bucketEnv();
      const result = await runJob(bucketJob, store);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(store.calls, ["GetKeyInfo", "ImportKey", ...perBucket(true)]);
      assert.deepEqual(
        [...store.keys.values()],
        [{ accessKeyId: env.KEY_ID, secretAccessKey: env.KEY_SECRET, name: env.KEY_NAME }],
      );
      assert.deepEqual(
        [...store.buckets.values()].map((bucket) => bucket.globalAlias),
        buckets(),
      );
      for (const bucket of buckets())
        assert.deepEqual(store.bucket(bucket).permissions.get(env.KEY_ID as string), {
          read: true,
          write: true,
          owner: false,
        });
      // Every admin call carried the store's token; every CORS call was signed with the app's key, which owned the bucket then.
      assert.ok(store.adminRequests.every((request) => request.authorization === `Bearer ${token()}`));
      assert.equal(store.s3Requests.length, buckets().length);
      for (const request of store.s3Requests) {
        assert.equal(request.status, 200, request.error);
        assert.equal(request.accessKeyId, env.KEY_ID);
        assert.equal(request.ownerAtCall, true);
        for (const header of ["host", "x-amz-date", "x-amz-content-sha256", "content-md5"])
          assert.ok(request.signedHeaders.includes(header), `${header} is not signed`);
      }
    });

    it("sets each bucket's CORS to exactly the app's origins, with the methods its browsers use", () => {
      for (const bucket of buckets()) assert.deepEqual(store.bucket(bucket).cors, renderedCors());
    });

    it("changes nothing but the CORS when run again: no second key, no second bucket", async () => {
      const ids = buckets().map((bucket) => store.bucket(bucket).id);
      const keys = structuredClone([...store.keys.values()]);
      for (const bucket of buckets())
        store.bucket(bucket).cors = [
          { ...renderedCors()[0], allowedOrigins: ["https://old.example.com"] } as CorsRule,
        ];
      const from = store.calls.length;
      const again = await runJob(bucketJob, store);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(store.calls.slice(from), ["GetKeyInfo", ...perBucket(false)]);
      assert.deepEqual(
        buckets().map((bucket) => store.bucket(bucket).id),
        ids,
      );
      assert.deepEqual([...store.keys.values()], keys);
      for (const bucket of buckets()) {
        assert.deepEqual(store.bucket(bucket).cors, renderedCors());
        assert.deepEqual(store.bucket(bucket).permissions.get(bucketEnv().KEY_ID as string), {
          read: true,
          write: true,
          owner: false,
        });
      }
    });

    it("is refused, as by Garage, when a CORS call is signed with another secret or by a key that does not own the bucket", async () => {
      const env = bucketEnv();
      const bucket = buckets()[0] as string;
      const deleteCors = (secret: string) =>
        run(
          "curl",
          [
            ...["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE"],
            ...["--user", `${env.KEY_ID}:${secret}`, "--aws-sigv4", `aws:amz:${env.S3_REGION}:s3`],
            ...["-H", `x-amz-content-sha256: ${sha256("")}`, `${store.s3Url}/${bucket}?cors=`],
          ],
          { env: { PATH: process.env.PATH } },
        );
      assert.equal((await deleteCors("not-the-key-secret")).stdout, "403");
      assert.match(store.s3Requests.at(-1)?.error ?? "", /Invalid signature/);
      assert.equal((await deleteCors(env.KEY_SECRET as string)).stdout, "403");
      assert.match(store.s3Requests.at(-1)?.error ?? "", /not allowed for this key/);
      assert.deepEqual(store.bucket(bucket).cors, renderedCors());
    });

    it("takes the ownership back from the key when setting the CORS fails, and fails", async () => {
      const failing = await startStore();
      failing.corsFailure = 500;
      const result = await runJob(bucketJob, failing);
      const first = buckets()[0] as string;
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`the CORS of bucket ${first} could not be set`));
      assert.deepEqual(failing.calls.slice(-2), [`PUT ${first}?cors`, `DenyBucketKey ${first} owner`]);
      assert.deepEqual(failing.bucket(first).permissions.get(bucketEnv().KEY_ID as string), {
        read: true,
        write: true,
        owner: false,
      });
    });

    it("fails with a clear message when the store holds the app's key with another secret, creating nothing", async () => {
      const env = bucketEnv();
      const other = await startStore({
        keys: [
          { accessKeyId: env.KEY_ID as string, secretAccessKey: "f".repeat(64), name: "someone else's" },
        ],
      });
      const result = await runJob(bucketJob, other);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`the store has key ${env.KEY_ID} with another secret: it was not made by this job`),
      );
      assert.deepEqual(other.calls, ["GetKeyInfo"]);
      assert.equal(other.buckets.size, 0);
    });

    it("fails when the store cannot be reached", async () => {
      const unreachable = await startStore();
      await unreachable.stop();
      const result = await runJob(bucketJob, unreachable, { GARAGE_WAIT_SECONDS: "2" });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /the store at http:\/\/127\.0\.0\.1:\d+ is not healthy after 2s/);
    });
  });

  describe("the store's layout job", () => {
    const env = () => rendered.variables(layoutJob());
    /** The role the rendered job gives a node: the server's zone, the volume's size. */
    const roleOf = (id: string): LayoutRole => ({
      id,
      zone: env().GARAGE_ZONE as string,
      capacity: Number(env().GARAGE_CAPACITY_BYTES),
      tags: [],
    });
    const changes = (store: GarageStandIn) =>
      store.adminRequests.filter((request) => /^(Update|Apply)ClusterLayout$/.test(request.operation));
    // A job that waits for the store would take 120 s to fail: it waits 4 here.
    const quick = { GARAGE_WAIT_SECONDS: "4" };

    it("gives a new store's one node its role, in the server's zone with the volume's capacity, and applies it once", async () => {
      assert.equal(env().GARAGE_ZONE, "cloud-a");
      assert.equal(env().GARAGE_CAPACITY_BYTES, String(50 * 2 ** 30));
      const store = await startStore({ layout: { version: 0, roles: [] } });
      const result = await runJob(layoutJob(), store, quick);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(store.layout, { version: 1, roles: [roleOf(store.nodeId)] });
      assert.deepEqual(
        changes(store).map((request) => [request.operation, request.body]),
        [
          ["UpdateClusterLayout", { roles: [roleOf(store.nodeId)] }],
          ["ApplyClusterLayout", { version: 1 }],
        ],
      );
    });

    it("leaves a layout that holds the node as it is", async () => {
      const nodeId = randomBytes(32).toString("hex");
      const store = await startStore({ nodeId, layout: { version: 4, roles: [roleOf(nodeId)] } });
      const result = await runJob(layoutJob(), store, quick);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /already has its role \(layout version 4\): nothing to do/);
      assert.deepEqual(changes(store), []);
      assert.deepEqual(store.layout, { version: 4, roles: [roleOf(nodeId)] });
    });

    it("refuses a layout that holds another node, naming both and changing nothing", async () => {
      const other = randomBytes(32).toString("hex");
      const store = await startStore({ layout: { version: 3, roles: [roleOf(other)] } });
      const result = await runJob(layoutJob(), store, quick);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`holds node\\(s\\) ${other}, not this node ${store.nodeId}`));
      assert.match(result.stderr, /restore the store's metadata/);
      assert.deepEqual(changes(store), []);
      assert.deepEqual(store.layout, { version: 3, roles: [roleOf(other)] });
    });
  });
});
