import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createNamespace, createPersistentVolumeClaim } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { createJobPair } from "./pair";
import { createBackupRepository } from "./repository";
import { exampleBackupConfig, exampleBackupCredentials } from "./testing/backup-config";
import {
  canSwitchUsers,
  giveTo,
  kubeletDir,
  type PodUser,
  podUser,
  runAsPodUser,
  secretFiles,
} from "./testing/pod-user";
import { localEnv, plainEnv, podSpecOf, writeBundle } from "./testing/rendered-job";
import { describeTree, missingBinaries, ResticSandbox, type TreeEntry } from "./testing/restic-sandbox";

/**
 * An app's backup jobs as `createJobPair` renders them for an app whose files belong to its own
 * user, run for real as the user their pods run as: the rendered scripts and variables, moved to
 * this machine, the volumes and Secrets as the kubelet hands them to such a pod.
 */

const missing = missingBinaries(["bash", "restic", "rclone", "setpriv"]);
const skip =
  missing.length > 0
    ? `needs ${missing.join(", ")}, not installed`
    : canSwitchUsers
      ? false
      : "needs root, to run the jobs as their pods' user";

type Manifest = Record<string, any>;

/** The app's user and group: what its files belong to, and what the app kit gives its jobs. */
const appUser = { user: 1000, group: 1000 };
/** Another user of the machine, whose files the app's user may read but not own. */
const otherUser = 1234;

describe("an app's backup jobs, run as the user their pods run as", { skip, concurrency: 1 }, () => {
  let box: ResticSandbox;
  let jobs: Record<"backup" | "final" | "restore", Manifest>;
  let bundle: string;
  let user: PodUser;
  let secrets: { restic: string; rclone: string };
  let runs = 0;
  /** The app's volumes as the app left them, and what their restore must give back. */
  let source: string;
  let expected: Record<string, TreeEntry[]>;

  /** A new pod's scratch directory (an emptyDir) with each volume's mount point in it. */
  async function pod(name: string): Promise<string> {
    const scratch = await kubeletDir(join(box.root, name), user);
    for (const volume of ["data", "config"]) await kubeletDir(join(scratch, volume), user);
    return scratch;
  }

  /** Runs one of the rendered jobs' scripts through the bundle's runner as the pod's user. */
  async function runJob(job: "backup" | "final" | "restore", scratch: string) {
    const manifest = jobs[job];
    const container = podSpecOf(manifest).containers[0];
    const home = join(box.root, `home-${++runs}`);
    await mkdir(home);
    await giveTo(home, user);
    const env = localEnv(
      plainEnv(container),
      {
        "/opt/scripts": bundle,
        "/opt/tools": join(box.root, "no-tools"),
        "/secrets/restic": secrets.restic,
        "/secrets/rclone": secrets.rclone,
        "/cache": box.cacheDir,
        "/home/scripts": home,
        "/backup": scratch,
      },
      {},
    );
    // The command the pod runs, the bundle's runner moved here.
    const [shell, ...args] = (container.command as string[]).map((arg) =>
      arg.startsWith("/opt/scripts/") ? join(bundle, arg.slice("/opt/scripts/".length)) : arg,
    );
    return runAsPodUser(user, shell as string, args, { env });
  }

  // Read as root, with a cache of its own: the jobs' cache stays the app's user's.
  const snapshots = () =>
    box.snapshots({
      ...box.env("notes"),
      RESTIC_CACHE_DIR: join(box.root, "root-cache"),
      RCLONE_CONFIG: join(secrets.rclone, "rclone.conf"),
      RESTIC_REPOSITORY: "rclone:storage:homelab-backups/notes",
      RESTIC_PASSWORD_FILE: join(secrets.restic, "password"),
    });

  before(async () => {
    const rendered = await render(() => {
      const namespace = createNamespace({
        name: "notes",
        provider: new k8s.Provider("cluster", { context: "test" }),
      });
      const claim = (name: string) => createPersistentVolumeClaim({ name, namespace, size: "1Gi" });
      createJobPair({
        app: "notes",
        namespace,
        volumes: [
          { name: "data", claim: claim("data"), exclude: ["cache"] },
          { name: "config", claim: claim("config") },
        ],
        schedule: "@daily",
        repository: createBackupRepository({ namespace, config: exampleBackupConfig() }),
        kubeContext: "test",
        server: "cloud-a",
        runAs: appUser,
      });
    });
    assert.deepEqual(rendered.errors, []);
    jobs = {
      backup: rendered.manifest("CronJob", "notes-backup"),
      final: rendered.manifest("CronJob", "notes-final-backup"),
      restore: rendered.manifest("Job", "notes-restore"),
    };
    user = podUser(podSpecOf(jobs.restore));

    box = await ResticSandbox.create();
    bundle = await writeBundle(
      rendered.manifest("ConfigMap", "notes-backup-scripts").data,
      join(box.root, "bundle"),
    );
    // The rendered remote, `storage:homelab-backups`, on this machine's disk (the provider's side).
    secrets = {
      restic: await secretFiles(
        join(box.root, "secret-restic"),
        { password: exampleBackupCredentials.resticPassword },
        user,
      ),
      rclone: await secretFiles(
        join(box.root, "secret-rclone"),
        { "rclone.conf": `[storage]\ntype = alias\nremote = ${box.storeDir}\n` },
        user,
      ),
    };
    // The rendered jobs' repository, storage:homelab-backups/notes, under the alias.
    await box.initRepository(join(box.storeDir, "homelab-backups", "notes"));
    for (const dir of [box.storeDir, box.cacheDir]) await giveTo(dir, user);

    // The app's files, as it wrote them: its own, in their modes, a read-only directory, and one
    // file of another user's that it may read.
    source = await pod("app");
    const data = join(source, "data");
    await mkdir(join(data, "attachments", "1"), { recursive: true });
    await mkdir(join(data, "cache"));
    await mkdir(join(data, "sealed"));
    await writeFile(join(data, "rsa_key.pem"), "not a real key\n", { mode: 0o600 });
    await writeFile(join(data, "attachments", "1", "photo.bin"), Buffer.from([0, 1, 254, 255]));
    await writeFile(join(data, "cache", "icon.png"), "fetched again when missing");
    await writeFile(join(data, "sealed", "archive.txt"), "kept as it was\n", { mode: 0o444 });
    await writeFile(join(source, "config", "settings.json"), '{"theme":"dark"}\n', { mode: 0o640 });
    await giveTo(data, user);
    await giveTo(join(source, "config", "settings.json"), user);
    await chmod(join(data, "sealed"), 0o555);
    await writeFile(join(data, "shared.txt"), "written by another user\n", { mode: 0o644 });
    await chown(join(data, "shared.txt"), otherUser, otherUser);
    const owned = (entries: TreeEntry[]) =>
      entries.map((entry) => ({
        ...entry,
        uid: user.uid,
        gid: entry.uid === user.uid ? entry.gid : user.gid,
      }));
    expected = {
      data: owned((await describeTree(data)).filter((entry) => !entry.path.startsWith("cache"))),
      config: owned(await describeTree(join(source, "config"))),
    };
    const backup = await runJob("backup", source);
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(async () => {
    await box?.cleanup();
  });

  it("runs the scheduled backup, the final backup and the restore as the app's user and group, never root", () => {
    for (const job of Object.values(jobs)) {
      assert.deepEqual(podUser(podSpecOf(job)), { uid: 1000, gid: 1000, fsGroup: 1000 }, job.metadata.name);
    }
  });

  it("restores every file as the app's user, with its content, mode and times, into a fresh volume", async () => {
    const target = await pod("fresh");
    const restore = await runJob("restore", target);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /restore finished/);
    assert.deepEqual(await describeTree(join(target, "data")), expected.data);
    assert.deepEqual(await describeTree(join(target, "config")), expected.config);
  });

  it("gives the app's user what another user owned: a restore that is not root restores no other owner", async () => {
    const target = await pod("owners");
    const restore = await runJob("restore", target);
    assert.equal(restore.code, 0, restore.stderr);
    const shared = (await describeTree(join(target, "data"))).find((entry) => entry.path === "shared.txt");
    assert.deepEqual([shared?.uid, shared?.gid, shared?.mode], [user.uid, user.gid, "644"]);
  });

  it("fails, touching nothing, when the app's user cannot write into a volume", async () => {
    const target = await pod("read-only-volume");
    await chmod(join(target, "data"), 0o755);
    await chown(join(target, "data"), 0, 0);
    const restore = await runJob("restore", target);
    assert.notEqual(restore.code, 0);
    assert.match(
      restore.stderr,
      /cannot write into .*\/data as this job.s user \(uid 1000\): .*nothing was restored/,
    );
    assert.deepEqual(await readdir(join(target, "data")), []);
    assert.deepEqual(await readdir(join(target, "config")), []);
  });

  it("fails, touching nothing, when the app's user cannot tell whether a volume holds data", async () => {
    const target = await pod("unlistable-volume");
    await writeFile(join(target, "data", "live.db"), "data the app wrote");
    // Writable but not listable: a restore that took the failed listing for "empty" would write over it.
    await giveTo(join(target, "data"), user);
    await chmod(join(target, "data"), 0o300);
    const restore = await runJob("restore", target);
    assert.notEqual(restore.code, 0);
    assert.match(restore.stderr, /cannot list volume data as this job.s user \(uid 1000\)/);
    assert.doesNotMatch(restore.stderr, /start: restore/);
    assert.deepEqual(await readdir(join(target, "data")), ["live.db"]);
    assert.deepEqual(await readdir(join(target, "config")), []);
  });

  it("redoes a restore that died as the app's user, its read-only directories included", async () => {
    const target = await pod("after-crash");
    const first = await runJob("restore", target);
    assert.equal(first.code, 0, first.stderr);
    // The state a restore that died leaves: its marker in a volume, the files it wrote.
    await writeFile(join(target, "data", ".restore-in-progress"), "");
    await giveTo(join(target, "data", ".restore-in-progress"), user);
    await rm(join(target, "config", "settings.json"));
    const again = await runJob("restore", target);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /a previous restore into volume data did not finish: it starts over/);
    assert.deepEqual(await describeTree(join(target, "data")), expected.data);
    assert.deepEqual(await describeTree(join(target, "config")), expected.config);
    assert.equal(existsSync(join(target, "data", ".restore-in-progress")), false);
  });
  it("fails the backup before writing any snapshot when the app's user cannot read a file, naming it", async () => {
    const before = (await snapshots()).length;
    const scratch = await pod("unreadable");
    await writeFile(join(scratch, "data", "root-only.key"), "only root reads this\n", { mode: 0o600 });
    await mkdir(join(scratch, "config", "root-only"), { mode: 0o700 });
    await writeFile(join(scratch, "config", "root-only", "inside"), "unseen");
    const backup = await runJob("backup", scratch);
    assert.equal(backup.code, 1, backup.stderr);
    assert.match(backup.stderr, /cannot read: .*\/data\/root-only\.key/);
    assert.match(backup.stderr, /cannot read: .*\/config\/root-only$/m);
    assert.match(
      backup.stderr,
      /2 entries in .* cannot be read by this job's user \(uid 1000, groups 1000\)/,
    );
    assert.match(backup.stderr, /nothing was backed up/);
    assert.equal((await snapshots()).length, before);
  });

  it("backs up a volume whose unreadable files are all in a path left out of the snapshots", async () => {
    const before = (await snapshots()).length;
    const scratch = await pod("unreadable-cache");
    await mkdir(join(scratch, "data", "cache"));
    await writeFile(join(scratch, "data", "cache", "root-only.png"), "only root reads this", { mode: 0o600 });
    await writeFile(join(scratch, "data", "notes.txt"), "readable");
    await giveTo(join(scratch, "data", "notes.txt"), user);
    const backup = await runJob("backup", scratch);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal((await snapshots()).length, before + 1);
  });

  it("takes the final backup of the stopped app's volumes as the app's user, verified", async () => {
    const final = await runJob("final", source);
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stderr, /done: verify the repository/);
    const newest = (await snapshots()).sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).at(-1);
    assert.deepEqual(newest?.tags, ["notes", "server:cloud-a", "final"]);
  });
});
