import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { readBackupNotifyUrls, readBackupSettings } from "./config";
import { createJobPair } from "./pair";
import { createBackupRepository } from "./repository";
import { exampleBackupConfig, exampleBackupCredentials } from "./testing/backup-config";
import { documentedVariables } from "./testing/readme";
import { localEnv, plainEnv, podSpecOf, writeBundle } from "./testing/rendered-job";
import { closedPort, missingBinaries, ResticSandbox, run } from "./testing/restic-sandbox";

/**
 * The jobs' notifications (notify-lib.sh), sent for real by backup.sh and restore.sh (and by the
 * rendered jobs' bundles) to a local HTTP receiver standing in for ntfy, healthchecks or a webhook.
 */

const missing = missingBinaries(["bash", "restic", "rclone"]);
const skip = missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;

interface Request {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP server recording every request; it answers `status` with healthchecks' "OK". */
class Receiver {
  requests: Request[] = [];
  status = 200;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        receiver?.requests.push({
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body,
        });
        response.statusCode = receiver?.status ?? 200;
        // ntfy answers JSON, healthchecks "OK": both are accepted.
        response.end(request.url === "/" ? '{"id":"abc","event":"message"}' : "OK");
      });
    });
    receiver = new Receiver(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  take(): Request[] {
    const taken = this.requests;
    this.requests = [];
    return taken;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A secret part of every URL: it must never appear in a job's output. */
const token = "tk_s3cr3t-token-value";
const jobs = ["backup", "final-backup", "restore"] as const;
type Job = (typeof jobs)[number];
const kinds = ["ntfy", "healthchecks", "webhook"] as const;
type Kind = (typeof kinds)[number];

describe("notifications sent by the backup and restore scripts", { skip, concurrency: 1 }, () => {
  let box: ResticSandbox;
  let receiver: Receiver;
  let hook: string;
  let runs = 0;

  before(async () => {
    box = await ResticSandbox.create();
    receiver = await Receiver.start();
    hook = join(box.root, "hook.sh");
    // Fails when asked to: the failing step is then "backup hook …" or "restore hook …".
    await writeFile(hook, '[ "$HOOK_FAIL" != 1 ] || { echo "hook failed" >&2; exit 3; }\n');
    // A snapshot for the restores.
    const data = await box.dir("source");
    await writeFile(join(data, "notes.txt"), "hello\n");
    const result = await box.script(
      "backup.sh",
      box.env("notes", { BACKUP_DIR: data, BACKUP_CHECK_DAYS: "none" }),
    );
    assert.equal(result.code, 0, result.stderr);
  });
  after(async () => {
    await receiver?.close();
    await box?.cleanup();
  });

  function targetUrl(kind: Kind): string {
    if (kind === "ntfy") return `http://:${token}@${receiver.base.slice("http://".length)}/backups`;
    if (kind === "healthchecks") return `${receiver.base}/${token}`;
    return `${receiver.base}/hooks/${token}`;
  }

  /** Runs one job of app notes with the kind's target; the failure is its hook's. */
  async function runJob(job: Job, outcome: "success" | "failure", extra: Record<string, string> = {}) {
    const dir = await box.dir(`run-${++runs}`);
    if (job !== "restore") await writeFile(join(dir, "notes.txt"), `run ${runs}\n`);
    const env = box.env("notes", {
      BACKUP_DIR: dir,
      BACKUP_CHECK_DAYS: "none",
      BACKUP_PRUNE_DAYS: "none",
      ...(job === "restore" ? { RESTORE_HOOK: hook } : { BACKUP_HOOK: hook }),
      ...(job === "final-backup" ? { BACKUP_REASON: "final", BACKUP_FINAL_READ_DATA_SUBSET: "" } : {}),
      ...(outcome === "failure" ? { HOOK_FAIL: "1" } : {}),
      NOTIFY_RETRY_SECONDS: "0",
      ...extra,
    });
    const result = await box.script(job === "restore" ? "restore.sh" : "backup.sh", env);
    return { ...result, requests: receiver.take(), hook };
  }

  for (const kind of kinds) {
    for (const job of jobs) {
      for (const outcome of ["success", "failure"] as const) {
        it(`${kind}: reports a ${job}'s ${outcome}`, async () => {
          const result = await runJob(job, outcome, { NOTIFY_KIND: kind, NOTIFY_URL: targetUrl(kind) });
          assert.equal(result.code === 0, outcome === "success", result.stderr);
          assert.ok(!`${result.stdout}${result.stderr}`.includes(token), "the URL's secret is in the output");
          assert.match(result.stderr, new RegExp(`notified ${kind}: ${job} ${outcome}`));
          assert.equal(result.requests.length, 1, JSON.stringify(result.requests));
          const [request] = result.requests as [Request];
          assert.equal(request.method, "POST");
          assert.equal(request.headers["content-type"], "application/json");
          const body = JSON.parse(request.body);
          const hookStep = `${job === "restore" ? "restore" : "backup"} hook ${hook}`;
          if (kind === "ntfy") {
            // ntfy's JSON publishing: the server's root, the topic and the token (as the password).
            assert.equal(request.url, "/");
            assert.equal(
              request.headers.authorization,
              `Basic ${Buffer.from(`:${token}`).toString("base64")}`,
            );
            assert.equal(body.topic, "backups");
            assert.equal(
              body.title,
              `${job} of notes on cloud-a ${outcome === "success" ? "succeeded" : "FAILED"}`,
            );
            assert.equal(body.priority, outcome === "success" ? 2 : 4);
            assert.deepEqual(body.tags, [outcome === "success" ? "white_check_mark" : "rotating_light"]);
            if (outcome === "failure")
              assert.ok(body.message.includes(`failed step: ${hookStep}`), body.message);
            if (outcome === "success") assert.match(body.message, /\(snapshot [0-9a-f]{8}/);
            return;
          }
          if (kind === "healthchecks") {
            // One check per backup and job kind; a scheduled job pings, a one-off one only logs.
            const slug = `/${token}/notes-${job}`;
            const expected =
              outcome === "failure"
                ? `${slug}/fail?create=1`
                : job === "backup"
                  ? `${slug}?create=1`
                  : `${slug}/log?create=1`;
            assert.equal(request.url, expected);
          } else {
            assert.equal(request.url, `/hooks/${token}`);
          }
          assert.equal(body.app, "notes");
          assert.equal(body.server, "cloud-a");
          assert.equal(body.job, job);
          assert.equal(body.outcome, outcome);
          assert.equal(typeof body.durationSeconds, "number");
          assert.ok(body.durationSeconds >= 0);
          assert.equal(typeof body.message, "string");
          if (job === "restore" || outcome === "success") assert.match(body.snapshot, /^[0-9a-f]{64}$/);
          if (outcome === "success") {
            assert.equal(body.step, undefined);
            if (job !== "restore") {
              assert.equal(typeof body.bytesAdded, "number");
              assert.ok(body.bytesAdded > 0, "a changed file adds data");
              assert.match(body.message, /done: snapshot [0-9a-f]{8}/);
            } else {
              assert.match(body.message, /restore of notes on cloud-a done: snapshot [0-9a-f]{8} restored/);
            }
          } else {
            assert.equal(body.step, hookStep);
            assert.match(body.message, /failed \(exit 3\) in step: /);
          }
        });
      }
    }
  }

  it("pings the heartbeat after a scheduled backup's success only, beside an ntfy target", async () => {
    const heartbeat = `${receiver.base}/ping/${token}-heartbeat`;
    const extra = { NOTIFY_KIND: "ntfy", NOTIFY_URL: targetUrl("ntfy"), NOTIFY_HEARTBEAT: heartbeat };
    const success = await runJob("backup", "success", extra);
    assert.equal(success.code, 0, success.stderr);
    assert.deepEqual(
      success.requests.map((request) => request.url),
      ["/", `/ping/${token}-heartbeat/notes-backup?create=1`],
    );
    assert.equal(JSON.parse(success.requests[1]?.body ?? "").outcome, "success");
    for (const [job, outcome] of [
      ["backup", "failure"],
      ["final-backup", "success"],
      ["restore", "success"],
    ] as const) {
      const result = await runJob(job, outcome, extra);
      assert.deepEqual(
        result.requests.map((request) => request.url),
        ["/"],
        `${job} ${outcome} pings no heartbeat`,
      );
    }
  });

  it("never fails a job when the target is down or refuses, and never names the URL", async () => {
    const down = `http://127.0.0.1:${await closedPort()}/hooks/${token}`;
    const result = await runJob("backup", "success", {
      NOTIFY_KIND: "webhook",
      NOTIFY_URL: down,
      NOTIFY_ATTEMPTS: "2",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /the webhook notification of this backup's success was not delivered \(cannot connect/,
    );
    assert.ok(!result.stderr.includes(token));
    const failed = await runJob("backup", "failure", { NOTIFY_KIND: "webhook", NOTIFY_URL: down });
    assert.equal(failed.code, 3, "the job's own exit code stands");

    receiver.status = 500;
    try {
      const refused = await runJob("restore", "success", {
        NOTIFY_KIND: "healthchecks",
        NOTIFY_URL: targetUrl("healthchecks"),
        NOTIFY_ATTEMPTS: "2",
      });
      assert.equal(refused.code, 0, refused.stderr);
      assert.equal(refused.requests.length, 2, "tried twice");
      assert.match(refused.stderr, /was not delivered \(the target answered HTTP 500\)/);
      assert.ok(!`${refused.stdout}${refused.stderr}`.includes(token));
    } finally {
      receiver.status = 200;
    }
  });

  it("reports a configuration error as the failing step, and nothing without NOTIFY_KIND", async () => {
    const result = await box.script(
      "backup.sh",
      box.env("notes", {
        BACKUP_DIR: join(box.root, "missing"),
        NOTIFY_KIND: "webhook",
        NOTIFY_URL: targetUrl("webhook"),
      }),
    );
    assert.equal(result.code, 2);
    const [request] = receiver.take();
    const body = JSON.parse(request?.body ?? "{}");
    assert.equal(body.step, "configuration");
    assert.match(body.message, /BACKUP_DIR '.*missing' is not a directory/);

    const quiet = await runJob("backup", "failure", { NOTIFY_URL: targetUrl("webhook") });
    assert.equal(quiet.code, 3);
    assert.deepEqual(quiet.requests, []);
  });

  it("sends what the library's callers give it (a drill), the message escaped as JSON", async () => {
    const library = join(__dirname, "..", "scripts", "notify-lib.sh");
    const script = `set -euo pipefail; . '${library}'; notify_outcome drill failure $'files differ: "a\\\\b"\\n\\tsecond line' snapshot=abc123 step='compare the files' durationSeconds=7`;
    const result = await run("bash", ["-c", script], {
      env: {
        PATH: process.env.PATH,
        HOME: box.homeDir,
        BACKUP_APP: "notes",
        BACKUP_SERVER: "cloud-a",
        NOTIFY_KIND: "healthchecks",
        NOTIFY_URL: targetUrl("healthchecks"),
      },
    });
    assert.equal(result.code, 0, result.stderr);
    const [request] = receiver.take();
    assert.equal(request?.url, `/${token}/notes-drill/fail?create=1`);
    assert.deepEqual(JSON.parse(request?.body ?? ""), {
      app: "notes",
      server: "cloud-a",
      job: "drill",
      outcome: "failure",
      snapshot: "abc123",
      durationSeconds: 7,
      step: "compare the files",
      message: 'files differ: "a\\b"\n\tsecond line',
    });
  });
});

type Manifest = Record<string, any>;

const notifyHost = "hooks.example.com";
const renderedUrl = `https://${notifyHost}/hooks/${token}`;

/** An app's job pair with a webhook target and the hooks of a database, as `createJobPair` renders it. */
async function renderPair() {
  const rendered = await render(() => {
    const namespace = createNamespace({
      name: "notes",
      provider: new k8s.Provider("cluster", { context: "test" }),
    });
    createJobPair({
      app: "notes",
      namespace,
      hooks: {
        environment: {
          name: "hooks",
          scripts: {
            "dump.sh":
              '[ "$DUMP_FAIL" != 1 ] || { echo "dump failed" >&2; exit 4; }\necho dump > "$BACKUP_DIR/dump.sql"\n',
            "present.sh": "echo absent\n",
            "load.sh": 'test -f "$BACKUP_DIR/dump.sql"\n',
          },
        },
        backup: "dump.sh",
        present: "present.sh",
        restore: "load.sh",
      },
      schedule: "@daily",
      repository: createBackupRepository({
        namespace,
        config: {
          ...exampleBackupConfig(),
          notify: pulumi.output({ kind: "webhook" as const, hosts: [notifyHost] }),
          notifyUrls: pulumi.secret({ url: renderedUrl }),
        },
      }),
      kubeContext: "test",
      server: "cloud-a",
      runAs: { user: 1000, group: 1000 },
    });
  });
  assert.deepEqual(rendered.errors, []);
  return rendered;
}

describe("the rendered jobs' notifications", () => {
  it("carry the target's kind and the Secret of its URLs, documented variables only", async () => {
    const rendered = await renderPair();
    const documented = documentedVariables();
    for (const [kind, name] of [
      ["CronJob", "notes-backup"],
      ["CronJob", "notes-final-backup"],
      ["Job", "notes-restore"],
    ] as const) {
      const spec = podSpecOf(rendered.manifest(kind, name));
      const container = spec.containers[0];
      const env = plainEnv(container);
      assert.equal(env.NOTIFY_KIND, "webhook", name);
      assert.equal(env.NOTIFY_URL_FILE, "/secrets/notify/url");
      assert.equal(env.NOTIFY_HEARTBEAT_FILE, "/secrets/notify/heartbeat");
      for (const variable of Object.keys(env))
        assert.ok(documented.has(variable), `${variable} is not in the README`);
      assert.ok(!JSON.stringify(container.env).includes(token), "the URL is not in the pod's variables");
      const mount = (container.volumeMounts as Manifest[]).find(
        (entry) => entry.mountPath === "/secrets/notify",
      );
      const volume = (spec.volumes as Manifest[]).find((entry) => entry.name === mount?.name);
      assert.equal(volume?.secret?.secretName, "backup-notify", name);
    }
    const secret = rendered.manifest("Secret", "backup-notify");
    assert.deepEqual(secret.stringData, { url: renderedUrl, heartbeat: "" });
    const raw = rendered.resources.find((resource) => resource.name.endsWith("backup-notify"));
    assert.ok(raw, "the Secret's resource");
    assert.ok(!JSON.stringify(rendered.manifest("ConfigMap", "notes-backup-scripts")).includes(token));
  });

  it("let the jobs reach exactly the target's host, on 443, beside the storage", async () => {
    const rendered = await renderPair();
    const policy = rendered.manifest("CiliumNetworkPolicy", "notes-backup-storage");
    const egress = JSON.stringify(policy.spec.egress);
    assert.ok(egress.includes(notifyHost), egress);
    const rules = policy.spec.egress as Manifest[];
    const notifyRules = rules.filter((rule) => JSON.stringify(rule).includes(notifyHost));
    assert.equal(notifyRules.length, 1, egress);
    assert.deepEqual(notifyRules[0]?.toFQDNs, [{ matchName: notifyHost }]);
    assert.deepEqual(notifyRules[0]?.toPorts, [{ ports: [{ port: "443", protocol: "TCP" }] }]);
    // Without a target, the storage alone.
    const plain = await render(() => {
      const namespace = createNamespace({
        name: "notes",
        provider: new k8s.Provider("cluster", { context: "test" }),
      });
      createJobPair({
        app: "notes",
        namespace,
        volumes: [],
        hooks: {
          environment: { name: "hooks", scripts: { "x.sh": "true\n" } },
          backup: "x.sh",
          present: "x.sh",
          restore: "x.sh",
        },
        schedule: "@daily",
        repository: createBackupRepository({
          namespace,
          config: {
            ...exampleBackupConfig(),
            notify: pulumi.output(undefined),
            notifyUrls: pulumi.secret({}),
          },
        }),
        kubeContext: "test",
        server: "cloud-a",
        runAs: { user: 1000, group: 1000 },
      });
    });
    assert.deepEqual(plain.errors, []);
    const storageOnly = plain.manifest("CiliumNetworkPolicy", "notes-backup-storage").spec
      .egress as Manifest[];
    // With a target: the same rules (the DNS visibility rule, the storage's) and the target's one.
    assert.deepEqual(
      rules.filter((rule) => !JSON.stringify(rule).includes(notifyHost)),
      storageOnly,
    );
    assert.ok(!JSON.stringify(storageOnly).includes(notifyHost));
    assert.equal(
      plainEnv(podSpecOf(plain.manifest("CronJob", "notes-backup")).containers[0]).NOTIFY_KIND,
      "",
    );
  });

  describe("run for real", { skip, concurrency: 1 }, () => {
    let box: ResticSandbox;
    let receiver: Receiver;
    let rendered: Awaited<ReturnType<typeof renderPair>>;
    let bundle: string;
    let secrets: { restic: string; rclone: string; notify: string };
    let runs = 0;

    before(async () => {
      rendered = await renderPair();
      box = await ResticSandbox.create();
      receiver = await Receiver.start();
      bundle = await writeBundle(
        rendered.manifest("ConfigMap", "notes-backup-scripts").data,
        join(box.root, "bundle"),
      );
      const files = async (name: string, content: Record<string, string>) => {
        const dir = join(box.root, name);
        await mkdir(dir, { recursive: true });
        for (const [file, value] of Object.entries(content)) await writeFile(join(dir, file), value);
        return dir;
      };
      secrets = {
        restic: await files("secret-restic", { password: exampleBackupCredentials.resticPassword }),
        rclone: await files("secret-rclone", {
          "rclone.conf": `[storage]\ntype = alias\nremote = ${box.storeDir}\n`,
        }),
        // The rendered Secret's URL, its host moved to the receiver.
        notify: await files("secret-notify", {
          url: `${renderedUrl.replace(`https://${notifyHost}`, receiver.base)}\n`,
          heartbeat: "",
        }),
      };
      await box.initRepository(join(box.storeDir, "homelab-backups", "notes"));
    });
    after(async () => {
      await receiver?.close();
      await box?.cleanup();
    });

    async function runJob(kind: string, name: string, overrides: Record<string, string> = {}) {
      const container = podSpecOf(rendered.manifest(kind, name)).containers[0];
      const scratch = await box.dir(`scratch-${++runs}`);
      const home = await box.dir(`home-${runs}`);
      const env = localEnv(
        plainEnv(container),
        {
          "/opt/scripts": bundle,
          "/opt/tools": join(box.root, "no-tools"),
          "/secrets/restic": secrets.restic,
          "/secrets/rclone": secrets.rclone,
          "/secrets/notify": secrets.notify,
          "/cache": box.cacheDir,
          "/home/scripts": home,
          "/backup": scratch,
          "/tmp": box.root,
        },
        { NOTIFY_RETRY_SECONDS: "0", BACKUP_CHECK_DAYS: "none", ...overrides },
      );
      const [shell, ...args] = (container.command as string[]).map((arg) =>
        arg.startsWith("/opt/scripts/") ? join(bundle, arg.slice("/opt/scripts/".length)) : arg,
      );
      const result = await run(shell as string, args, { env });
      assert.ok(!`${result.stdout}${result.stderr}`.includes(token), "the URL's secret is in the output");
      const requests = receiver.take();
      return { ...result, requests, bodies: requests.map((request) => JSON.parse(request.body)) };
    }

    it("report each job's success with its snapshot, size and duration, and a failure with its step", async () => {
      const backup = await runJob("CronJob", "notes-backup");
      assert.equal(backup.code, 0, backup.stderr);
      assert.equal(backup.requests[0]?.url, `/hooks/${token}`);
      assert.equal(backup.bodies.length, 1);
      assert.equal(backup.bodies[0].job, "backup");
      assert.equal(backup.bodies[0].outcome, "success");
      assert.match(backup.bodies[0].snapshot, /^[0-9a-f]{64}$/);
      assert.ok(backup.bodies[0].bytesAdded > 0);
      assert.equal(typeof backup.bodies[0].durationSeconds, "number");

      const failed = await runJob("CronJob", "notes-backup", { DUMP_FAIL: "1" });
      assert.equal(failed.code, 4, failed.stderr);
      assert.equal(failed.bodies[0].outcome, "failure");
      assert.equal(failed.bodies[0].step, `backup hook ${join(bundle, "dump.sh")}`);

      const final = await runJob("CronJob", "notes-final-backup", { BACKUP_FINAL_READ_DATA_SUBSET: "" });
      assert.equal(final.code, 0, final.stderr);
      assert.equal(final.bodies[0].job, "final-backup");
      assert.equal(final.bodies[0].outcome, "success");
      assert.match(final.bodies[0].snapshot, /^[0-9a-f]{64}$/);

      const restore = await runJob("Job", "notes-restore");
      assert.equal(restore.code, 0, restore.stderr);
      assert.equal(restore.bodies[0].job, "restore");
      assert.equal(restore.bodies[0].outcome, "success");
      assert.equal(restore.bodies[0].snapshot, final.bodies[0].snapshot, "the newest snapshot is restored");
    });
  });
});

describe("backup:notify", () => {
  it("exports the kind and hosts in plain text, the URLs apart as a secret", async () => {
    let captured: { read: unknown; urls: pulumi.Output<unknown> } | undefined;
    const rendered = await render(
      () => {
        captured = { read: readBackupSettings(), urls: readBackupNotifyUrls() };
      },
      {
        project: "shared",
        config: {
          "backup:remote": "storage:homelab-backups",
          "backup:storageHosts": ["s3.example.com"],
          "backup:notify": {
            kind: "ntfy",
            url: "https://:tk_abc@ntfy.example.com/backups",
            heartbeat: "https://hc-ping.com/ping-key",
          },
        },
      },
    );
    assert.deepEqual(rendered.errors, []);
    assert.ok(captured, "the program ran");
    assert.deepEqual((captured.read as { notify: unknown }).notify, {
      kind: "ntfy",
      hosts: ["ntfy.example.com", "hc-ping.com"],
    });
    assert.equal(await pulumi.isSecret(captured.urls), true);
  });

  for (const [notify, expected] of [
    [{ kind: "ntfy", url: "http://ntfy.example.org/backups" }, /https URL without a port/],
    [{ kind: "ntfy", url: "https://ntfy.example.org:8443/backups" }, /https URL without a port/],
    [{ kind: "ntfy", url: "https://ntfy.example.org/" }, /the topic's URL/],
    [{ kind: "ntfy", url: "https://ntfy.example.org/backups?auth=x" }, /takes no query/],
    [{ kind: "healthchecks", url: "https://hc.example.org/" }, /ping base with the project's ping key/],
    [
      { kind: "healthchecks", url: "https://hc.example.org/key", heartbeat: "https://hc.example.org/k2" },
      /its own heartbeat/,
    ],
    [{ kind: "pager", url: "https://pager.example.org/" }, /expected ntfy, healthchecks or webhook/],
  ] as const) {
    it(`refuses ${JSON.stringify(notify)} without printing its URL`, async () => {
      const rendered = await render(() => readBackupSettings(), {
        project: "shared",
        config: {
          "backup:remote": "storage:homelab-backups",
          "backup:storageHosts": ["s3.example.com"],
          "backup:notify": notify,
        },
      });
      const errors = rendered.errors.join("\n");
      assert.match(errors, /backup:notify/);
      assert.match(errors, expected);
      assert.ok(!errors.includes(notify.url), errors);
    });
  }
});
