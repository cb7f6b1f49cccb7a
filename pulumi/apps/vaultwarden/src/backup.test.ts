import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { chown, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type DatabaseServer,
  postgresBinDir,
  startDatabaseServer,
} from "@infra/databases/src/testing/db-servers";
import { localEnv, writeBundle } from "@infra/restic/src/testing/rendered-job";
import {
  describeTree,
  missingBinaries,
  ResticSandbox,
  type RunResult,
  run,
} from "@infra/restic/src/testing/restic-sandbox";
import { synthAndValidate } from "@tools/synth/src/report";
import { unwrapSecrets } from "@tools/synth/src/secrets";
import { isKubernetesObject } from "@tools/synth/src/write";

/**
 * Vaultwarden's backups as synth renders them for cloud-a, run for real: the rendered scripts,
 * with the rendered jobs' variables and mounts moved to this machine, against real PostgreSQL
 * servers and a real restic repository (through rclone). Nothing of the app's own is stubbed.
 */

const repoRoot = resolve(__dirname, "..", "..", "..", "..");
const missing = [
  ...missingBinaries(["bash", "restic", "rclone", "psql", "pg_dump", "pg_restore"]),
  ...(postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"]),
];
const adminPassword = "postgres admin password";

type Manifest = Record<string, any>;

/** The rows and files vaultwarden keeps: what a user would lose. */
const seedSql = `CREATE TABLE users (uuid text PRIMARY KEY, email text NOT NULL, akey text);
  CREATE TABLE ciphers (uuid text PRIMARY KEY, user_uuid text REFERENCES users, data text);
  INSERT INTO users VALUES ('u1', 'alice@example.com', 'encrypted key ✓');
  INSERT INTO ciphers VALUES ('c1', 'u1', '2.encrypted|cipher|text'), ('c2', 'u1', NULL);`;
const fingerprintSql = "SELECT * FROM users ORDER BY uuid; SELECT * FROM ciphers ORDER BY uuid;";

async function writeVaultwardenData(volume: string): Promise<void> {
  await mkdir(join(volume, "attachments", "c1"), { recursive: true });
  await mkdir(join(volume, "sends"));
  await mkdir(join(volume, "icon_cache"));
  await writeFile(join(volume, "rsa_key.pem"), "-----BEGIN PRIVATE KEY-----\nnot a real key\n", {
    mode: 0o600,
  });
  await writeFile(join(volume, "config.json"), '{"signups_allowed": false}\n');
  await writeFile(join(volume, "attachments", "c1", "photo.bin"), Buffer.from([0, 1, 2, 255]));
  await writeFile(join(volume, "sends", "s1"), "a send\n");
  await writeFile(join(volume, "icon_cache", "example.com.png"), "an icon fetched again when missing");
  // Vaultwarden runs as 1000: a restore must give its files back to it.
  if (process.getuid?.() === 0) await chown(join(volume, "rsa_key.pem"), 1000, 1000);
}

describe("vaultwarden's rendered backup of its volume and its database", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let box: ResticSandbox;
  let objects: Manifest[];
  let original: DatabaseServer;
  let fresh: DatabaseServer;
  let originalVolume: string;
  let outDir: string;
  let runs = 0;

  const object = (kind: string, namespace: string, name: string): Manifest => {
    const found = objects.find(
      (candidate) =>
        candidate.kind === kind &&
        candidate.metadata?.name === name &&
        candidate.metadata?.namespace === namespace,
    );
    assert.ok(found, `synth rendered no ${kind} ${namespace}/${name}`);
    return found;
  };
  const containerOf = (manifest: Manifest) =>
    (manifest.kind === "CronJob" ? manifest.spec.jobTemplate.spec.template : manifest.spec.template).spec
      .containers[0];
  /** A container's variables: plain values as rendered, references resolved from `secrets`. */
  const variables = (manifest: Manifest, secrets: Record<string, string> = {}) =>
    Object.fromEntries(
      (containerOf(manifest).env as Manifest[]).map((variable) => {
        const ref = variable.valueFrom?.secretKeyRef;
        const value = ref ? secrets[`${ref.name}/${ref.key}`] : variable.value;
        assert.ok(value !== undefined, `no value for ${variable.name}`);
        return [variable.name, String(value)];
      }),
    );
  const secretData = (namespace: string, name: string): Record<string, string> =>
    object("Secret", namespace, name).stringData;

  /** A Secret mounted as files, as the kubelet does. */
  async function mountSecret(namespace: string, name: string): Promise<string> {
    const dir = await box.dir(`secret-${namespace}-${name}-${++runs}`);
    for (const [key, value] of Object.entries(secretData(namespace, name)))
      await writeFile(join(dir, key), value);
    return dir;
  }

  /** Runs a script of a rendered bundle through its runner, with the job's variables moved here. */
  async function runJob(options: {
    bundle: Manifest;
    script: string;
    env: Record<string, string>;
    mounts: Record<string, string>;
    server: DatabaseServer;
  }): Promise<RunResult> {
    const bundle = await writeBundle(options.bundle.data, await box.dir(`bundle-${++runs}`));
    const env = localEnv(
      options.env,
      {
        "/opt/scripts": bundle,
        "/opt/tools": await box.dir(`tools-${runs}`),
        "/cache": await box.dir(`cache-${runs}`),
        ...options.mounts,
      },
      { HOME: box.root, DB_HOST: "127.0.0.1", DB_PORT: String(options.server.port) },
    );
    return run("bash", [join(bundle, "run.sh"), options.script], { env });
  }

  /** The app's database job on a server, as a new cluster runs it before the app's restore. */
  async function createDatabase(server: DatabaseServer): Promise<void> {
    const job = object("Job", "postgresql", "vaultwarden-vaultwarden-database");
    const result = await runJob({
      bundle: object("ConfigMap", "postgresql", "vaultwarden-vaultwarden-database-scripts"),
      script: "postgresql-create-database.sh",
      env: variables(job, {
        "postgresql-admin/password": adminPassword,
        "vaultwarden-vaultwarden-database-password/password": secretData(
          "postgresql",
          "vaultwarden-vaultwarden-database-password",
        ).password as string,
      }),
      mounts: {},
      server,
    });
    assert.equal(result.code, 0, result.stderr);
  }

  /** A backup or restore job of the app: its pod's scratch directory holds the volume's mount point. */
  async function backupJob(kind: "CronJob" | "Job", name: string, server: DatabaseServer, scratch: string) {
    const manifest = object(kind, "vaultwarden", name);
    return runJob({
      bundle: object("ConfigMap", "vaultwarden", "vaultwarden-backup-scripts"),
      script: kind === "Job" ? "restore.sh" : "backup.sh",
      env: variables(manifest),
      mounts: {
        "/backup": scratch,
        "/secrets/restic": await mountSecret("vaultwarden", "restic-password"),
        "/secrets/rclone": rclone,
        "/secrets/database": await mountSecret("vaultwarden", "vaultwarden-database"),
      },
      server,
    });
  }

  const asApp = () => ({
    user: "vaultwarden",
    password: secretData("vaultwarden", "vaultwarden-database").password as string,
    database: "vaultwarden",
  });
  let rclone: string;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), "vaultwarden-synth-"));
    const report = await synthAndValidate({
      projectsDir: join(repoRoot, "pulumi", "projects"),
      workspaceRoots: [join(repoRoot, "pulumi")],
      outDir,
      validate: false,
      stacks: ["cloud-a"],
      projects: ["vaultwarden"],
    });
    assert.deepEqual(report.problems, []);
    const project = report.results[0]?.projects.find((candidate) => candidate.project === "vaultwarden");
    assert.ok(project);
    objects = project.resources
      .filter(isKubernetesObject)
      .map((resource) => unwrapSecrets(resource.inputs) as Manifest);

    box = await ResticSandbox.create();
    // The rendered remote, `storage:homelab-backups`, on this machine's disk.
    rclone = await box.dir("rclone");
    const remote = await box.dir("remote");
    await writeFile(join(rclone, "rclone.conf"), `[storage]\ntype = alias\nremote = ${remote}\n`);
    await box.initRepository(join(remote, "homelab-backups", "vaultwarden"));
    original = await startDatabaseServer("postgresql", join(box.root, "original-server"), adminPassword);
    await createDatabase(original);
    await original.sql(seedSql, asApp());
    const scratch = await box.podDir("original-pod", ["data"]);
    originalVolume = join(scratch, "data");
    await writeVaultwardenData(originalVolume);
    const backup = await backupJob("CronJob", "vaultwarden-backup", original, scratch);
    assert.equal(backup.code, 0, backup.stderr);
    fresh = await startDatabaseServer("postgresql", join(box.root, "fresh-server"), adminPassword);
    await createDatabase(fresh);
  });

  after(async () => {
    await original?.stop();
    await fresh?.stop();
    await box?.cleanup();
    rmSync(outDir, { recursive: true, force: true });
  });

  it("takes one snapshot of the volume and the database dump, without the icon cache", async () => {
    const env = {
      ...box.env("vaultwarden"),
      RCLONE_CONFIG: join(rclone, "rclone.conf"),
      RESTIC_REPOSITORY: "rclone:storage:homelab-backups/vaultwarden",
      RESTIC_PASSWORD: secretData("vaultwarden", "restic-password").password as string,
      RESTIC_PASSWORD_FILE: "",
    };
    const paths = await box.listLatest(env);
    assert.ok(paths.includes("/vaultwarden.pgdump"), paths.join("\n"));
    assert.ok(paths.includes("/data/attachments/c1/photo.bin"), paths.join("\n"));
    assert.ok(paths.includes("/data/rsa_key.pem"));
    assert.equal(paths.filter((path) => path.startsWith("/data/icon_cache")).length, 0, paths.join("\n"));
  });

  it("restores the volume and the database onto a fresh server and volume, as the app left them", async () => {
    const scratch = await box.podDir("fresh-pod", ["data"]);
    const restore = await backupJob("Job", "vaultwarden-restore", fresh, scratch);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /restore finished/);
    assert.equal(await fresh.sql(fingerprintSql, asApp()), await original.sql(fingerprintSql, asApp()));
    const withoutIcons = async (root: string) =>
      (await describeTree(root)).filter((entry) => !entry.path.startsWith("icon_cache"));
    assert.deepEqual(await describeTree(join(scratch, "data")), await withoutIcons(originalVolume));
  });

  it("skips the restore when the app's data is already there", async () => {
    const scratch = await box.podDir("fresh-pod-again", []);
    // The same volume as the restore above, mounted again.
    await run("cp", ["-a", join(box.root, "fresh-pod", "data"), join(scratch, "data")], {
      env: { PATH: process.env.PATH },
    });
    const again = await backupJob("Job", "vaultwarden-restore", fresh, scratch);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /data already present: skipping the restore/);
  });

  it("takes a verified final backup of the stopped app with its template", async () => {
    const scratch = await box.podDir("final-pod", []);
    await run("cp", ["-a", originalVolume, join(scratch, "data")], { env: { PATH: process.env.PATH } });
    const final = await backupJob("CronJob", "vaultwarden-final-backup", original, scratch);
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stderr, /done: verify the repository/);
  });
});
