import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createNamespace, createPersistentVolumeClaim, createSecret, createWorkload } from "@infra/k8s";
import type { ScriptEnvironment } from "@infra/scripting";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { type BackupConfig, storageHosts } from "./config";
import { finalBackupScript } from "./final-backup";
import { type BackupHooks, createJobPair, type JobPair, type JobPairArgs } from "./pair";
import { createBackupRepository } from "./repository";
import { documentedVariables } from "./testing/readme";
import { resticScriptsDir } from "./testing/restic-sandbox";

const rcloneConfig = "[storage]\ntype = s3\nsecret_access_key = rclone-secret-value\n";
const resticPassword = "restic-password-value";

/** The stack's settings as a project gets them: outputs of the shared project's stack. */
function backupConfig(): BackupConfig {
  return {
    remote: pulumi.output("storage:homelab-backups"),
    storage: pulumi.output(storageHosts(["s3.example.com", "*.backup.example.net", "203.0.113.0/24"], [443])),
    schedule: pulumi.output("30 3 * * *"),
    retention: pulumi.output({ daily: 7, weekly: 4, monthly: 6 }),
    appendOnly: pulumi.output(true),
    rcloneConfig: pulumi.secret(rcloneConfig),
    resticPassword: pulumi.secret(resticPassword),
    secretsFile: "secrets/apps/notes.yaml",
  };
}

/** The user and group the app's files belong to. */
const notesUser = { user: 1000, group: 1001 };

/** Hooks shaped like a database server's: scripts in every job, a private server in the offline ones. */
function serverHooks(volume: k8s.core.v1.PersistentVolumeClaim): BackupHooks {
  const server: ScriptEnvironment = {
    name: "server",
    scripts: { "start.sh": "echo start\n", "stop.sh": "echo stop\n" },
    setup: "start.sh",
    cleanup: "stop.sh",
    env: { DB_HOST: "127.0.0.1" },
    mounts: [{ volume, mountPath: "/var/lib/db" }],
  };
  return {
    environment: {
      name: "hooks",
      scripts: { "dump.sh": "echo dump\n", "present.sh": "echo absent\n", "load.sh": "echo load\n" },
    },
    online: { name: "online", env: { DB_HOST: "db.example.svc" } },
    offline: server,
    backup: "dump.sh",
    present: "present.sh",
    restore: "load.sh",
  };
}

/** Hooks shaped like an app's own database: reached the same way by every job, through its Secret. */
function appDatabaseHooks(credentials: k8s.core.v1.Secret): BackupHooks {
  return {
    environment: {
      name: "app-database",
      scripts: { "dump.sh": "echo dump\n", "present.sh": "echo absent\n", "load.sh": "echo load\n" },
      env: { DB_HOST: "db.example.svc", DB_PASSWORD_FILE: "/secrets/database/password" },
      mounts: [{ volume: credentials, mountPath: "/secrets/database" }],
    },
    backup: "dump.sh",
    present: "present.sh",
    restore: "load.sh",
  };
}

/**
 * Renders an app with its job pair the way a project wires them, on a stack: by default an app
 * with two volumes (`data`, whose `cache` is left out, and `config`); with `hooks` a database
 * server (its volume is dumped, not backed up as files) or an app with its own database too.
 */
async function renderPair(
  options: { stack?: string; hooks?: "server" | "app-database"; restore?: JobPairArgs["restore"] } = {},
) {
  let pair: JobPair | undefined;
  const rendered = await render(
    () => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "notes", provider });
      const data = createPersistentVolumeClaim({ name: "notes-data", namespace, size: "1Gi" });
      const config = createPersistentVolumeClaim({ name: "notes-config", namespace, size: "1Gi" });
      const credentials = createSecret({ name: "notes-database", namespace, stringData: { password: "pw" } });
      const databaseJob = createWorkload({ name: "notes-database", namespace, container: { image: "db:1" } });
      const server = options.hooks === "server";
      pair = createJobPair({
        app: "notes",
        namespace,
        ...(server
          ? { hooks: serverHooks(data), requires: [data] }
          : {
              volumes: [
                { name: "data", claim: data, exclude: ["cache"] },
                { name: "config", claim: config },
              ],
            }),
        ...(options.hooks === "app-database"
          ? { hooks: appDatabaseHooks(credentials), requires: [databaseJob.resource] }
          : {}),
        schedule: "30 3 * * *",
        retention: pulumi.output({ daily: 3, weekly: 2, monthly: 1 }),
        repository: createBackupRepository({ namespace, config: backupConfig() }),
        kubeContext: options.stack ?? "cloud-a",
        // An output, as a project passes the shared stack's server name.
        server: pulumi.output(options.stack ?? "cloud-a"),
        ...(options.restore ? { restore: options.restore } : {}),
        runAs: notesUser,
      });
      createWorkload({
        name: "notes",
        namespace,
        container: {
          image: "example/notes:1.0",
          volumeMounts: [
            { volume: data, mountPath: "/data" },
            { volume: config, mountPath: "/config" },
          ],
        },
        options: { dependsOn: pair.dependsOn },
      });
    },
    { stack: options.stack ?? "cloud-a" },
  );
  assert.deepEqual(rendered.errors, []);
  const container = (kind: string, name: string) => {
    const object = rendered.manifest(kind, name);
    const template = kind === "CronJob" ? object.spec.jobTemplate.spec.template : object.spec.template;
    return { spec: template.spec, container: template.spec.containers[0], object };
  };
  const env = (kind: string, name: string) =>
    Object.fromEntries(
      container(kind, name).container.env.map((variable: Record<string, any>) => [
        variable.name,
        variable.value ?? variable.valueFrom,
      ]),
    );
  const resource = (type: string, name: string) => {
    const found = rendered.resources.find((candidate) => candidate.type === type && candidate.name === name);
    assert.ok(found, `no ${type} ${name}`);
    return found;
  };
  return { rendered, pair: pair as JobPair, container, env, resource };
}

describe("createJobPair", () => {
  it("ships backup.sh, restore.sh and common.sh exactly as scripts.test.ts runs them", async () => {
    const { rendered } = await renderPair();
    const data = rendered.manifest("ConfigMap", "notes-backup-scripts").data;
    for (const name of ["backup.sh", "restore.sh", "common.sh"]) {
      assert.equal(data[name], readFileSync(join(resticScriptsDir, name), "utf8"), name);
    }
  });

  it("runs backup.sh on the schedule and restore.sh once, through the bundle's runner", async () => {
    const { rendered, container } = await renderPair();
    assert.equal(rendered.manifest("CronJob", "notes-backup").spec.schedule, "30 3 * * *");
    assert.deepEqual(container("CronJob", "notes-backup").container.command, [
      "/bin/bash",
      "/opt/scripts/run.sh",
      "backup.sh",
    ]);
    assert.deepEqual(container("Job", "notes-restore").container.command, [
      "/bin/bash",
      "/opt/scripts/run.sh",
      "restore.sh",
    ]);
  });

  it("sets only variables the scripts' README documents, with the app's identity and retention", async () => {
    const { env } = await renderPair();
    const documented = documentedVariables();
    const backup = env("CronJob", "notes-backup");
    for (const name of [...Object.keys(backup), ...Object.keys(env("Job", "notes-restore"))]) {
      assert.ok(documented.has(name), `${name} is not in the README`);
    }
    assert.equal(backup.BACKUP_APP, "notes");
    assert.equal(backup.BACKUP_DIR, "/backup");
    assert.equal(backup.BACKUP_VOLUMES, "data config");
    assert.equal(backup.BACKUP_EXCLUDE, "data/cache");
    assert.deepEqual(
      [backup.BACKUP_KEEP_DAILY, backup.BACKUP_KEEP_WEEKLY, backup.BACKUP_KEEP_MONTHLY],
      ["3", "2", "1"],
    );
  });

  it("tells every job the server it runs on, which the restore takes the app for and the backups must hold it on", async () => {
    for (const stack of ["cloud-a", "local-a"]) {
      const { env } = await renderPair({ stack });
      for (const [kind, name] of [
        ["CronJob", "notes-backup"],
        ["CronJob", "notes-final-backup"],
        ["Job", "notes-restore"],
      ] as const) {
        assert.equal(env(kind, name).BACKUP_SERVER, stack, `${stack} ${name}`);
      }
    }
  });

  it("pins the restore's snapshot and forces its hold when asked, in the restore job only", async () => {
    const plain = await renderPair();
    assert.equal(plain.env("Job", "notes-restore").RESTORE_SNAPSHOT, undefined);
    assert.equal(plain.env("Job", "notes-restore").RESTORE_FORCE_HOLD, undefined);
    const { env } = await renderPair({ restore: { snapshot: "0123abcd", forceHold: true } });
    const restore = env("Job", "notes-restore");
    assert.equal(restore.RESTORE_SNAPSHOT, "0123abcd");
    assert.equal(restore.RESTORE_FORCE_HOLD, "true");
    const documented = documentedVariables();
    for (const name of Object.keys(restore)) assert.ok(documented.has(name), `${name} is not in the README`);
    for (const name of ["notes-backup", "notes-final-backup"]) {
      assert.equal(env("CronJob", name).RESTORE_SNAPSHOT, undefined, name);
      assert.equal(env("CronJob", name).RESTORE_FORCE_HOLD, undefined, name);
    }
  });

  it("tells the scheduled and final backups that the storage is append-only, leaving retention to the operator", async () => {
    const { env } = await renderPair();
    assert.equal(env("CronJob", "notes-backup").BACKUP_APPEND_ONLY, "true");
    assert.equal(env("CronJob", "notes-final-backup").BACKUP_APPEND_ONLY, "true");
    assert.equal(env("Job", "notes-restore").BACKUP_APPEND_ONLY, undefined);
  });

  it("names the app's repository after the app and the remote only, the same on every cluster", async () => {
    // One program at a time: the mock runtime is global.
    const repositories: string[] = [];
    for (const stack of ["cloud-a", "local-a"]) {
      repositories.push((await renderPair({ stack })).env("Job", "notes-restore").RESTIC_REPOSITORY);
    }
    assert.deepEqual(repositories, [
      "rclone:storage:homelab-backups/notes",
      "rclone:storage:homelab-backups/notes",
    ]);
  });

  it("names the repository, and the snapshots' host and tag, by the identity a pair is given", async () => {
    let pair: JobPair | undefined;
    const rendered = await render(() => {
      const namespace = createNamespace({
        name: "postgresql",
        provider: new k8s.Provider("cluster", { context: "test" }),
      });
      const claim = createPersistentVolumeClaim({ name: "data", namespace, size: "1Gi" });
      pair = createJobPair({
        app: "postgresql",
        identity: "postgresql-cloud-a",
        namespace,
        volumes: [{ name: "data", claim }],
        schedule: "@daily",
        repository: createBackupRepository({ namespace, config: backupConfig() }),
        kubeContext: "cloud-a",
        server: "cloud-a",
        runAs: { user: 999, group: 999 },
      });
    });
    const restore = rendered.manifest("Job", "postgresql-restore").spec.template.spec.containers[0].env;
    const value = (name: string) =>
      restore.find((variable: Record<string, string>) => variable.name === name)?.value;
    assert.equal(value("BACKUP_APP"), "postgresql-cloud-a");
    assert.equal(value("RESTIC_REPOSITORY"), "rclone:storage:homelab-backups/postgresql-cloud-a");
    assert.equal(pair?.entry.app, "postgresql-cloud-a");
  });

  it("reads the restic password and the rclone config from mounted Secrets", async () => {
    const { env, container, rendered } = await renderPair();
    const { spec, container: main } = container("CronJob", "notes-backup");
    const mountOf = (file: string) => {
      const mount = main.volumeMounts.find((candidate: Record<string, string>) =>
        file.startsWith(`${candidate.mountPath}/`),
      );
      assert.ok(mount, `nothing is mounted at ${file}`);
      const volume = spec.volumes.find((candidate: Record<string, any>) => candidate.name === mount.name);
      return { secret: volume.secret.secretName as string, key: file.slice(mount.mountPath.length + 1) };
    };
    const variables = env("CronJob", "notes-backup");
    const password = mountOf(variables.RESTIC_PASSWORD_FILE);
    const rclone = mountOf(variables.RCLONE_CONFIG);
    assert.deepEqual(Object.keys(rendered.manifest("Secret", password.secret).stringData), [password.key]);
    assert.deepEqual(Object.keys(rendered.manifest("Secret", rclone.secret).stringData), [rclone.key]);
    assert.equal(rendered.manifest("Secret", password.secret).stringData[password.key], resticPassword);
    assert.equal(rendered.manifest("Secret", rclone.secret).stringData[rclone.key], rcloneConfig);
  });

  it("mounts each volume under the scratch directory, read-only for backups and writable for the restore", async () => {
    const { container } = await renderPair();
    const mounts = (kind: string, name: string) =>
      container(kind, name).container.volumeMounts.filter((mount: { mountPath: string }) =>
        mount.mountPath.startsWith("/backup"),
      );
    assert.deepEqual(mounts("CronJob", "notes-backup"), [
      { name: "backup-scratch", mountPath: "/backup" },
      { name: "pvc-notes-data", mountPath: "/backup/data", readOnly: true },
      { name: "pvc-notes-config", mountPath: "/backup/config", readOnly: true },
    ]);
    assert.deepEqual(mounts("CronJob", "notes-final-backup"), mounts("CronJob", "notes-backup"));
    assert.deepEqual(mounts("Job", "notes-restore"), [
      { name: "backup-scratch", mountPath: "/backup" },
      { name: "pvc-notes-data", mountPath: "/backup/data" },
      { name: "pvc-notes-config", mountPath: "/backup/config" },
    ]);
  });

  it("runs every job as the user and group the app's files belong to, never root, with nothing more", async () => {
    const { container } = await renderPair({ hooks: "app-database" });
    for (const [kind, name] of [
      ["CronJob", "notes-backup"],
      ["CronJob", "notes-final-backup"],
      ["Job", "notes-restore"],
    ] as const) {
      const { spec } = container(kind, name);
      assert.deepEqual(
        spec.securityContext,
        {
          seccompProfile: { type: "RuntimeDefault" },
          runAsUser: 1000,
          runAsGroup: 1001,
          fsGroup: 1001,
          runAsNonRoot: true,
        },
        name,
      );
      for (const each of [...spec.initContainers, ...spec.containers]) {
        assert.equal(each.securityContext.readOnlyRootFilesystem, true, `${name} ${each.name}`);
        assert.deepEqual(each.securityContext.capabilities, { drop: ["ALL"] }, `${name} ${each.name}`);
        assert.equal(each.securityContext.allowPrivilegeEscalation, false, `${name} ${each.name}`);
      }
      // restic's cache, temporary files and the home directory are the pod's emptyDirs.
      const scratch = spec.containers[0].volumeMounts
        .filter((mount: Record<string, string>) =>
          spec.volumes.some((volume: Record<string, any>) => volume.name === mount.name && volume.emptyDir),
        )
        .map((mount: Record<string, string>) => mount.mountPath);
      assert.deepEqual(scratch.sort(), ["/backup", "/cache", "/home/scripts", "/opt/tools", "/tmp"], name);
    }
  });

  it("copies restic and rclone in from their pinned images before the script runs", async () => {
    const { container } = await renderPair();
    const images = container("Job", "notes-restore").spec.initContainers.map(
      (init: Record<string, string>) => init.image,
    );
    assert.equal(images.length, 2);
    assert.match(images[0], /^restic\/restic:\d+\.\d+\.\d+$/);
    assert.match(images[1], /rclone:\d+\.\d+\.\d+$/);
  });

  it("makes the app's workload depend on the restore job and on the final backup", async () => {
    const { resource } = await renderPair();
    const workload = resource("kubernetes:apps/v1:Deployment", "notes/notes");
    const restore = resource("kubernetes:batch/v1:Job", "notes/notes-restore");
    const final = resource("command:local:Command", "notes/notes-final-backup");
    assert.ok(workload.dependsOn.includes(restore.urn));
    assert.ok(workload.dependsOn.includes(final.urn));
  });

  it("starts the jobs only once the storage policy lets them out", async () => {
    const { resource } = await renderPair();
    const policy = resource("kubernetes:cilium.io/v2:CiliumNetworkPolicy", "notes/notes-backup-storage");
    for (const [type, name] of [
      ["kubernetes:batch/v1:Job", "notes/notes-restore"],
      ["kubernetes:batch/v1:CronJob", "notes/notes-backup"],
      ["kubernetes:batch/v1:CronJob", "notes/notes-final-backup"],
    ] as const) {
      assert.ok(resource(type, name).dependsOn.includes(policy.urn), name);
    }
  });

  it("runs the final backup from a suspended template with BACKUP_REASON=final", async () => {
    const { rendered, env } = await renderPair();
    assert.equal(rendered.manifest("CronJob", "notes-final-backup").spec.suspend, true);
    assert.equal(rendered.manifest("CronJob", "notes-backup").spec.suspend, undefined);
    assert.equal(env("CronJob", "notes-final-backup").BACKUP_REASON, "final");
    assert.equal(env("CronJob", "notes-backup").BACKUP_REASON, undefined);
  });

  it("deletes the volumes, secrets, scripts and policy only after the final backup's delete ran", async () => {
    const { resource } = await renderPair();
    const final = resource("command:local:Command", "notes/notes-final-backup");
    for (const [type, name] of [
      ["kubernetes:core/v1:PersistentVolumeClaim", "notes/notes-data"],
      ["kubernetes:core/v1:PersistentVolumeClaim", "notes/notes-config"],
      ["kubernetes:core/v1:Secret", "notes/restic-password"],
      ["kubernetes:core/v1:Secret", "notes/rclone-config"],
      ["kubernetes:core/v1:ConfigMap", "notes/notes-backup-scripts"],
      ["kubernetes:cilium.io/v2:CiliumNetworkPolicy", "notes/notes-backup-storage"],
      ["kubernetes:batch/v1:CronJob", "notes/notes-final-backup"],
      ["kubernetes:batch/v1:CronJob", "notes/notes-backup"],
    ] as const) {
      assert.ok(final.dependsOn.includes(resource(type, name).urn), `${name} must outlive the final backup`);
    }
  });

  it("runs final-backup.sh on delete, with the cluster's context and the app's template", async () => {
    const { resource } = await renderPair({ stack: "local-a" });
    const { inputs } = resource("command:local:Command", "notes/notes-final-backup");
    assert.equal(inputs.delete, finalBackupScript);
    assert.equal(inputs.create, undefined);
    assert.deepEqual(inputs.interpreter, ["/bin/bash", "-c"]);
    assert.deepEqual(inputs.environment, {
      KUBE_CONTEXT: "local-a",
      NAMESPACE: "notes",
      CRONJOB: "notes-final-backup",
      SCHEDULED_CRONJOB: "notes-backup",
      APP: "notes",
      TIMEOUT_SECONDS: "22200",
    });
  });

  it("lets the jobs reach the storage hosts on the storage ports and nothing else", async () => {
    const { rendered } = await renderPair();
    const { spec } = rendered.manifest("CiliumNetworkPolicy", "notes-backup-storage");
    const https = [{ ports: [{ port: "443", protocol: "TCP" }] }];
    assert.deepEqual(spec.endpointSelector, { matchLabels: { "backup.infra/app": "notes" } });
    assert.equal(spec.ingress, undefined);
    assert.deepEqual(spec.egress.slice(1), [
      { toFQDNs: [{ matchName: "s3.example.com" }], toPorts: https },
      { toFQDNs: [{ matchPattern: "*.backup.example.net" }], toPorts: https },
      { toCIDRSet: [{ cidr: "203.0.113.0/24" }], toPorts: https },
    ]);
    // The first rule only sends DNS through Cilium's proxy, which FQDN rules need.
    assert.deepEqual(spec.egress[0].toPorts[0].rules, { dns: [{ matchPattern: "*" }] });
  });

  it("labels every job's pods so one policy covers them", async () => {
    const { container } = await renderPair();
    for (const [kind, name] of [
      ["CronJob", "notes-backup"],
      ["CronJob", "notes-final-backup"],
      ["Job", "notes-restore"],
    ]) {
      const object = container(kind as string, name as string).object;
      const template = kind === "CronJob" ? object.spec.jobTemplate.spec.template : object.spec.template;
      assert.equal(template.metadata.labels["backup.infra/app"], "notes");
    }
  });

  it("for a database server, dumps into the scratch directory online and runs the restore and final backup offline", async () => {
    const { env, container, rendered } = await renderPair({ hooks: "server" });
    const scheduled = env("CronJob", "notes-backup");
    assert.equal(scheduled.BACKUP_DIR, "/backup");
    assert.equal(scheduled.BACKUP_VOLUMES, undefined);
    assert.equal(scheduled.BACKUP_HOOK, "/opt/scripts/dump.sh");
    assert.equal(scheduled.DB_HOST, "db.example.svc");
    const restore = env("Job", "notes-restore");
    assert.equal(restore.RESTORE_PRESENT_HOOK, "/opt/scripts/present.sh");
    assert.equal(restore.RESTORE_HOOK, "/opt/scripts/load.sh");
    assert.equal(restore.DB_HOST, "127.0.0.1");
    assert.equal(env("CronJob", "notes-final-backup").DB_HOST, "127.0.0.1");
    const scratch = container("Job", "notes-restore").spec.volumes.find(
      (volume: Record<string, unknown>) => volume.name === "backup-scratch",
    );
    assert.deepEqual(scratch, { name: "backup-scratch", emptyDir: {} });
    // The offline bundle starts and stops the private server around the script.
    assert.match(
      rendered.manifest("ConfigMap", "notes-offline-backup-scripts").data["run.sh"],
      /setups=\("" "" "" "start\.sh"\)/,
    );
    assert.match(
      rendered.manifest("ConfigMap", "notes-backup-scripts").data["run.sh"],
      /setups=\("" "" "" ""\)/,
    );
  });

  it("backs an app's volumes and its own database up together, every job reaching it the same way", async () => {
    const { env, rendered, resource } = await renderPair({ hooks: "app-database" });
    for (const [kind, name] of [
      ["CronJob", "notes-backup"],
      ["CronJob", "notes-final-backup"],
      ["Job", "notes-restore"],
    ] as const) {
      const variables = env(kind, name);
      assert.equal(variables.BACKUP_VOLUMES, "data config", name);
      assert.equal(variables.DB_HOST, "db.example.svc", name);
    }
    assert.equal(env("CronJob", "notes-backup").BACKUP_HOOK, "/opt/scripts/dump.sh");
    assert.equal(env("Job", "notes-restore").RESTORE_HOOK, "/opt/scripts/load.sh");
    // One bundle serves all three jobs: no private server runs.
    assert.throws(() => rendered.manifest("ConfigMap", "notes-offline-backup-scripts"));
    // The jobs start after the database exists, and it stays until the final backup ran.
    const database = resource("kubernetes:apps/v1:Deployment", "notes/notes-database");
    assert.ok(resource("kubernetes:batch/v1:Job", "notes/notes-restore").dependsOn.includes(database.urn));
    assert.ok(resource("command:local:Command", "notes/notes-final-backup").dependsOn.includes(database.urn));
  });

  it("exports the app, its schedule, repository, retention and password's file for task backup:status and backup:prune", async () => {
    const { pair } = await renderPair();
    const entry = await new Promise((resolve) =>
      pulumi
        .all([pair.entry.namespace, pair.entry.schedule, pair.entry.repository, pair.entry.retention])
        .apply(([namespace, schedule, repository, retention]) =>
          resolve({
            app: pair.entry.app,
            namespace,
            schedule,
            repository,
            retention,
            secretsFile: pair.entry.secretsFile,
          }),
        ),
    );
    assert.deepEqual(entry, {
      app: "notes",
      namespace: "notes",
      schedule: "30 3 * * *",
      repository: "rclone:storage:homelab-backups/notes",
      retention: { daily: 3, weekly: 2, monthly: 1 },
      secretsFile: "secrets/apps/notes.yaml",
    });
  });

  const refused: {
    should: string;
    args: (claim: k8s.core.v1.PersistentVolumeClaim) => Partial<JobPairArgs>;
    error: RegExp;
  }[] = [
    {
      should: "an app name its final backup job could not be named after",
      args: (claim) => ({
        app: "a-very-long-application-name-for-a-job",
        volumes: [{ name: "data", claim }],
      }),
      error: /at most 35 characters/,
    },
    { should: "a pair with nothing to back up", args: () => ({ volumes: [] }), error: /nothing to back up/ },
    {
      should: "a volume whose name is not a directory name of the snapshot",
      args: (claim) => ({ volumes: [{ name: "Data Dir", claim }] }),
      error: /volume "Data Dir" needs a DNS label name/,
    },
    {
      should: "two volumes of one name",
      args: (claim) => ({
        volumes: [
          { name: "data", claim },
          { name: "data", claim },
        ],
      }),
      error: /two volumes are named "data"/,
    },
    {
      should: "a restore pinned to what is no snapshot id",
      args: (claim) => ({ volumes: [{ name: "data", claim }], restore: { snapshot: "latest" } }),
      error: /Restore of notes: "latest" is not a snapshot id/,
    },
    {
      should: "an excluded path outside its volume",
      args: (claim) => ({ volumes: [{ name: "data", claim, exclude: ["../config"] }] }),
      error: /"\.\.\/config" is not a path inside volume data/,
    },
  ];
  for (const { should, args, error } of refused) {
    it(`refuses ${should}`, async () => {
      const rendered = await render(() => {
        const namespace = createNamespace({
          name: "x",
          provider: new k8s.Provider("cluster", { context: "test" }),
        });
        const claim = createPersistentVolumeClaim({ name: "data", namespace, size: "1Gi" });
        createJobPair({
          app: "notes",
          namespace,
          schedule: "@daily",
          repository: createBackupRepository({ namespace, config: backupConfig() }),
          kubeContext: "test",
          server: "test",
          runAs: notesUser,
          ...args(claim),
        });
      });
      assert.match(rendered.errors.join("\n"), error);
    });
  }
});
