import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  describeTree,
  missingBinaries,
  ResticSandbox,
  type RunResult,
  run,
  type TreeEntry,
} from "@infra/restic/src/testing/restic-sandbox";
import { GarageStandIn } from "./testing/garage-stand-in";
import { type Manifest, RenderedStack, runRenderedJob } from "./testing/rendered-stack";

/**
 * The object store's backups as synth renders them for cloud-a, run for real: the rendered backup,
 * final-backup and restore jobs (restic's scripts and the store's hooks, with the jobs' variables
 * and mounts moved to this machine) against a real restic repository through rclone, on a volume
 * laid out as Garage lays out its data directory. Garage's binary is not available here: a small
 * HTTP server of the test stands in for its admin API (`testing/garage-stand-in.ts`: the bearer
 * token, CreateMetadataSnapshot copying the LMDB database into `meta/snapshots/<UTC time>` as
 * Garage does, its documented answers). restic, rclone, curl, jq and the rendered scripts are real.
 */

const missing = missingBinaries(["bash", "restic", "rclone", "curl", "jq"]);
const namespace = "object-storage";
/** Garage stores an object in blocks of 1 MiB (its default `block_size`). */
const blockSize = 1024 * 1024;

/** What a user would lose with the volume: its files, and the object's blocks. */
interface GarageFiles {
  nodeId: string;
  /** Paths in the volume and their bytes: the node key, its public half, the layout. */
  identity: Map<string, Buffer>;
  /** `data/<2 hex>/<2 hex>/<hash>` and the block's bytes. */
  blocks: Map<string, Buffer>;
}

/** Garage's name of a time (`snapshots/<name>`): RFC 3339 in UTC, to the second. */
const snapshotName = (time: Date) => time.toISOString().replace(/\.\d+Z$/, "Z");

async function writeFileIn(root: string, path: string, content: Buffer, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content, { mode });
}

/** A store's volume as Garage leaves it: metadata directory, and a photo-sized object in data blocks. */
async function writeGarageVolume(root: string): Promise<GarageFiles> {
  const publicKey = randomBytes(32);
  const identity = new Map<string, Buffer>([
    ["meta/node_key", Buffer.concat([randomBytes(32), publicKey])],
    ["meta/node_key.pub", publicKey],
    ["meta/cluster_layout", randomBytes(700)],
  ]);
  for (const [path, content] of identity) await writeFileIn(root, path, content, 0o600);
  // The live LMDB database, which Garage writes to while it runs, and an older snapshot of Garage's own.
  await writeFileIn(root, "meta/db.lmdb/data.mdb", randomBytes(512 * 1024), 0o600);
  await writeFileIn(root, "meta/db.lmdb/lock.mdb", randomBytes(8192), 0o600);
  const yesterday = snapshotName(new Date(Date.now() - 24 * 3600 * 1000));
  await writeFileIn(root, `meta/snapshots/${yesterday}/data.mdb`, randomBytes(64 * 1024), 0o600);
  const photo = randomBytes(5 * blockSize + blockSize / 2);
  const blocks = new Map<string, Buffer>();
  for (let offset = 0; offset < photo.length; offset += blockSize) {
    const block = photo.subarray(offset, offset + blockSize);
    // Garage's block hash: BLAKE2b, 32 bytes.
    const hash = createHash("blake2b512").update(block).digest("hex").slice(0, 64);
    blocks.set(`data/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`, Buffer.from(block));
  }
  for (const [path, content] of blocks) await writeFileIn(root, path, content, 0o600);
  // Garage runs as 1000: a restore must give its files back to it.
  if (process.getuid?.() === 0)
    await run("chown", ["-R", "1000:1000", root], { env: { PATH: process.env.PATH } });
  return { nodeId: publicKey.toString("hex"), identity, blocks };
}

/** The files under a directory and their sha256, by path. */
async function filesOf(dir: string): Promise<Record<string, string | undefined>> {
  return Object.fromEntries(
    (await describeTree(dir))
      .filter((entry) => entry.type === "file")
      .map((entry) => [entry.path, entry.sha256]),
  );
}

/** The volume's entries but its live database and Garage's snapshots, which the backups leave out. */
const withoutDatabase = (tree: TreeEntry[]) =>
  tree.filter((entry) => !/^meta\/(db\.lmdb|snapshots)(\/|$)/.test(entry.path));

/** The store's PersistentVolumeClaim: one directory, mounted into one pod after another. */
class Volume {
  constructor(public path: string) {}

  /** Mounts it at a pod's mount point (moved there: a PVC's files are the same in every pod). */
  async mountAt(mountPoint: string): Promise<void> {
    await rename(this.path, mountPoint);
    this.path = mountPoint;
  }

  /** Every file lost: an empty volume. */
  async loseEverything(): Promise<void> {
    for (const entry of await readdir(this.path))
      await rm(join(this.path, entry), { recursive: true, force: true });
  }
}

describe("the object store's backups, as synth renders them for cloud-a, run for real", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let rendered: RenderedStack;
  let box: ResticSandbox;
  let garage: GarageStandIn;
  let volume: Volume;
  let original: GarageFiles;
  let rclone: string;
  let runs = 0;
  /** The scheduled backup's run, and the volume right after it. */
  let scheduled: RunResult;
  let atBackup: TreeEntry[];

  const job = (kind: string, name: string): Manifest => rendered.object(kind, namespace, name);
  const backupEnv = () => rendered.variables(job("CronJob", "object-storage-backup"));

  /** A Secret's files, as its volume mounts them. */
  async function mountSecret(name: string): Promise<string> {
    const dir = await box.dir(`secret-${name}-${++runs}`);
    for (const [key, value] of Object.entries(rendered.secretFiles(namespace, name)))
      await writeFile(join(dir, key), value);
    return dir;
  }

  /** A job of the store's backups, in a pod of its own: a fresh scratch directory with the volume mounted in it. */
  async function runJob(kind: "CronJob" | "Job", name: string, onto = volume): Promise<RunResult> {
    const scratch = await box.podDir(`${name}-pod-${++runs}`, []);
    await onto.mountAt(join(scratch, "garage"));
    return runRenderedJob(rendered, job(kind, name), {
      workDir: await box.dir(`${name}-run-${runs}`),
      mounts: {
        "/backup": scratch,
        "/secrets/restic": await mountSecret("restic-password"),
        "/secrets/rclone": rclone,
      },
      services: { [backupEnv().GARAGE_ADMIN_URL as string]: garage.adminUrl },
    });
  }

  /** restic on the store's repository, as the operator opens it. */
  const resticEnv = () => ({
    ...box.env(backupEnv().BACKUP_APP as string),
    RCLONE_CONFIG: join(rclone, "rclone.conf"),
    RESTIC_REPOSITORY: backupEnv().RESTIC_REPOSITORY,
    RESTIC_PASSWORD: rendered.secretValue(namespace, "restic-password", "password"),
    RESTIC_PASSWORD_FILE: "",
  });

  before(async () => {
    rendered = await RenderedStack.synth("cloud-a", ["object-storage"]);
    box = await ResticSandbox.create();
    // The rendered remote, `storage:homelab-backups`, on this machine's disk.
    rclone = await box.dir("rclone");
    const remote = await box.dir("remote");
    await writeFile(join(rclone, "rclone.conf"), `[storage]\ntype = alias\nremote = ${remote}\n`);
    const repository = /^rclone:storage:(.*)$/.exec(backupEnv().RESTIC_REPOSITORY as string)?.[1];
    assert.ok(repository, backupEnv().RESTIC_REPOSITORY);
    await box.initRepository(join(remote, repository));

    volume = new Volume(await box.dir("object-storage-data"));
    original = await writeGarageVolume(volume.path);
    garage = await GarageStandIn.start({
      token: rendered.secretValue(namespace, "object-storage-secrets", "token"),
      nodeId: original.nodeId,
      metaDir: () => join(volume.path, "meta"),
    });
    scheduled = await runJob("CronJob", "object-storage-backup");
    assert.equal(scheduled.code, 0, scheduled.stderr);
    atBackup = await describeTree(volume.path);
  });

  after(async () => {
    await garage?.stop();
    await box?.cleanup();
  });

  it("asks the running store for a metadata snapshot with the rendered token, which the store alone accepts", async () => {
    const requests = garage.adminRequests.filter((request) => request.operation === "CreateMetadataSnapshot");
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.method, "POST");
    assert.deepEqual(requests[0]?.query, { node: "self" });
    assert.equal(requests[0]?.authorization, `Bearer ${garage.token}`);
    assert.equal(garage.snapshots.length, 1);
    assert.match(scheduled.stderr, new RegExp(`metadata snapshot ${garage.snapshots[0]?.name} taken`));
    const wrongToken = await fetch(`${garage.adminUrl}/v2/CreateMetadataSnapshot?node=self`, {
      method: "POST",
      headers: { authorization: "Bearer not-the-store-token" },
    });
    assert.equal(wrongToken.status, 403);
  });

  it("takes one snapshot of the node key, the layout, every data block and the store's copy of its database, without the live database or Garage's own snapshots", async () => {
    const snapshots = await box.snapshots(resticEnv());
    assert.equal(snapshots.length, 1);
    const paths = await box.listLatest(resticEnv());
    for (const path of [...original.identity.keys(), ...original.blocks.keys()])
      assert.ok(paths.includes(`/garage/${path}`), `${path} is not in the snapshot:\n${paths.join("\n")}`);
    assert.ok(paths.includes("/metadata.lmdb/data.mdb"), paths.join("\n"));
    assert.deepEqual(
      paths.filter((path) => /^\/garage\/meta\/(db\.lmdb|snapshots)(\/|$)/.test(path)),
      [],
    );
  });

  it("brings the store back after its volume is lost: every block byte for byte, the node key and layout, and the database as the store snapshotted it at backup time", async () => {
    // The store goes on writing after the backup: its live database is no longer the snapshot.
    await appendFile(join(volume.path, "meta", "db.lmdb", "data.mdb"), "a bucket created after the backup");
    await volume.loseEverything();
    assert.deepEqual(await readdir(volume.path), []);

    const restore = await runJob("Job", "object-storage-restore");
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /restore finished/);
    for (const [path, bytes] of [...original.blocks, ...original.identity])
      assert.ok((await readFile(join(volume.path, path))).equals(bytes), `${path} differs`);
    assert.deepEqual(await filesOf(join(volume.path, "meta", "db.lmdb")), garage.snapshots[0]?.files);
    // Nothing else came back: no snapshot of Garage's, every other entry as it was, owners and modes included.
    assert.equal(existsSync(join(volume.path, "meta", "snapshots")), false);
    assert.deepEqual(withoutDatabase(await describeTree(volume.path)), withoutDatabase(atBackup));
  });

  it("skips the restore of a store whose metadata is there, touching nothing", async () => {
    const before = await describeTree(volume.path);
    const again = await runJob("Job", "object-storage-restore");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /metadata database present/);
    assert.match(again.stderr, /data already present: skipping the restore/);
    assert.deepEqual(await describeTree(volume.path), before);
  });

  it("backs up the restored store, which holds no snapshot of Garage's own yet, from a new one", async () => {
    assert.equal(existsSync(join(volume.path, "meta", "snapshots")), false);
    const next = await runJob("CronJob", "object-storage-backup");
    assert.equal(next.code, 0, next.stderr);
    assert.equal(garage.snapshots.length, 2);
    assert.match(next.stderr, new RegExp(`metadata snapshot ${garage.snapshots[1]?.name} taken`));
    assert.equal((await box.snapshots(resticEnv())).length, 2);
  });

  it("fails the scheduled backup when the store cannot snapshot its metadata, before any snapshot reaches the repository", async () => {
    const before = (await box.snapshots(resticEnv())).map((snapshot) => snapshot.id);
    garage.snapshotError = "Cannot acquire lock, another snapshot might be in progress";
    const failed = await runJob("CronJob", "object-storage-backup").finally(() => {
      garage.snapshotError = undefined;
    });
    assert.notEqual(failed.code, 0, failed.stderr);
    assert.match(
      failed.stderr,
      new RegExp(`the store could not snapshot its metadata: ${garage.nodeId}: Cannot acquire lock`),
    );
    assert.deepEqual(
      (await box.snapshots(resticEnv())).map((snapshot) => snapshot.id),
      before,
    );
  });

  it("refuses to restore onto a volume that holds data blocks but no metadata database, touching nothing", async () => {
    const partial = new Volume(await box.dir("partial-volume"));
    for (const [path, bytes] of original.blocks) await writeFileIn(partial.path, path, bytes);
    const before = await describeTree(partial.path);
    const refused = await runJob("Job", "object-storage-restore", partial);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /no metadata database/);
    assert.match(
      refused.stderr,
      /only part of the app's data is there: volume garage holds data, the database/,
    );
    assert.deepEqual(await describeTree(partial.path), before);
  });

  it("takes the final backup of the stopped store from its database at rest, and a restore from it gets exactly that database", async () => {
    await garage.stop();
    // What the store wrote until it stopped: its database at rest, no longer the scheduled backup's snapshot.
    await writeFile(join(volume.path, "meta", "db.lmdb", "data.mdb"), randomBytes(256 * 1024));
    await writeFile(join(volume.path, "meta", "db.lmdb", "lock.mdb"), randomBytes(8192));
    const atRest = await filesOf(join(volume.path, "meta", "db.lmdb"));

    const final = await runJob("CronJob", "object-storage-final-backup");
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stderr, /the store is stopped: its metadata database is copied as it is/);
    const snapshots = await box.snapshots(resticEnv());
    assert.ok(snapshots.at(-1)?.tags?.includes("final"), JSON.stringify(snapshots.at(-1)));

    await volume.loseEverything();
    const restore = await runJob("Job", "object-storage-restore");
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await filesOf(join(volume.path, "meta", "db.lmdb")), atRest);
    for (const [path, bytes] of [...original.blocks, ...original.identity])
      assert.ok((await readFile(join(volume.path, path))).equals(bytes), `${path} differs`);
  });
});
