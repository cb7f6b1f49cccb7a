import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  describeTree,
  kill,
  missingBinaries,
  ResticSandbox,
  resticScriptsDir,
  run,
  type TreeEntry,
  writeSampleTree,
} from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone", "shellcheck"]);
const skip = missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;

const DAY = 24 * 60 * 60 * 1000;

/** restic's --time format, in local time. */
function resticTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

function isoWeekdayUtc(date: Date): number {
  return ((date.getUTCDay() + 6) % 7) + 1;
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

describe("backup.sh and restore.sh against a restic repository behind rclone", {
  skip,
  concurrency: 3,
}, () => {
  // One repository holding a backup.sh snapshot of the sample tree, copied by the tests that need it.
  let template: ResticSandbox;
  let sampleTree: TreeEntry[];
  const sandboxes: ResticSandbox[] = [];

  async function sandbox(options: { withSnapshot: boolean }): Promise<ResticSandbox> {
    const created = await ResticSandbox.create();
    sandboxes.push(created);
    if (options.withSnapshot) await cp(template.storeDir, created.storeDir, { recursive: true });
    return created;
  }

  before(async () => {
    template = await ResticSandbox.create();
    sandboxes.push(template);
    const data = await template.dir("data");
    await writeSampleTree(data);
    sampleTree = await describeTree(data);
    const result = await template.script("backup.sh", template.env("app", { BACKUP_DIR: data }));
    assert.equal(result.code, 0, result.stderr);
  });

  after(async () => {
    await Promise.all(sandboxes.map((s) => s.cleanup()));
  });

  it("restores content, modes, owners, symlinks and empty directories exactly", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("restored");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await describeTree(target), sampleTree);
  });

  it("restores the newest snapshot even when older ones were taken from another mount path", async () => {
    const box = await sandbox({ withSnapshot: true });
    const movedMount = await box.dir("mounted-elsewhere");
    await writeFile(join(movedMount, "newest.txt"), "after the move");
    const backup = await box.script("backup.sh", box.env("app", { BACKUP_DIR: movedMount }));
    assert.equal(backup.code, 0, backup.stderr);
    const target = await box.dir("restored");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(target), ["newest.txt"]);
  });

  it("skips the restore and leaves the volume untouched when data is already there", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    await writeFile(join(target, "existing.db"), "live data");
    const before = await describeTree(target);
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /data already present: skipping the restore/);
    assert.deepEqual(await describeTree(target), before);
  });

  it("ignores lost+found when deciding whether the volume is empty", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    await box.dir("volume/lost+found");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    const restored = (await describeTree(target)).filter((e) => !e.path.startsWith("lost+found"));
    assert.deepEqual(restored, sampleTree);
  });

  it("starts fresh, writing nothing and creating no repository, when the repository does not exist", async () => {
    const box = await sandbox({ withSnapshot: false });
    const target = await box.dir("volume");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /no repository exists yet: fresh start/);
    assert.deepEqual(await readdir(target), []);
    assert.deepEqual(await readdir(box.storeDir), []);
  });

  it("starts fresh when the repository holds snapshots of other apps only", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    const result = await box.script("restore.sh", box.env("another-app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /no snapshot of another-app: fresh start/);
    assert.deepEqual(await readdir(target), []);
  });

  it("fails without writing anything when the repository password is wrong", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    const wrongPassword = join(box.root, "wrong-password");
    await writeFile(wrongPassword, "not the password\n");
    const env = box.env("app", { BACKUP_DIR: target, RESTIC_PASSWORD_FILE: wrongPassword });
    const result = await box.script("restore.sh", env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /cannot open the repository/);
    assert.deepEqual(await readdir(target), []);
  });

  it("fails without writing anything when the remote is unreachable", async () => {
    const box = await sandbox({ withSnapshot: false });
    const target = await box.dir("volume");
    const env = box.env("app", {
      BACKUP_DIR: target,
      RCLONE_CONFIG: await box.unreachableRcloneConfig(),
      RESTIC_REPOSITORY: "rclone:unreachable:repo",
    });
    const result = await box.script("restore.sh", env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /cannot open the repository/);
    assert.deepEqual(await readdir(target), []);
  });

  it("redoes a restore that was interrupted, discarding what it had written", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    await writeFile(join(target, ".restore-in-progress"), "");
    await writeFile(join(target, "half-written.bin"), "partial");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await describeTree(target), sampleTree);
  });

  it("runs the restore hook after the files are in place", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    const hook = join(box.root, "restore-hook.sh");
    const proof = join(box.root, "hook-saw");
    await writeFile(hook, `ls "$BACKUP_DIR" > "${proof}"\n`);
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target, RESTORE_HOOK: hook }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(await readFile(proof, "utf8"), /^config$/m);
    assert.deepEqual(await describeTree(target), sampleTree);
  });

  it("fails, keeping the restore marked unfinished, when the restore hook fails", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("volume");
    const hook = join(box.root, "restore-hook.sh");
    await writeFile(hook, "exit 4\n");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target, RESTORE_HOOK: hook }));
    assert.notEqual(result.code, 0);
    assert.ok((await readdir(target)).includes(".restore-in-progress"));
  });

  it("asks the present-hook instead of looking at the directory and skips when it answers present", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("scratch");
    const hook = join(box.root, "present.sh");
    await writeFile(hook, "echo present\n");
    const env = box.env("app", { BACKUP_DIR: target, RESTORE_PRESENT_HOOK: hook });
    const result = await box.script("restore.sh", env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /skipping the restore/);
    assert.deepEqual(await readdir(target), []);
  });

  it("fails without writing anything when the present-hook gives no clear answer", async () => {
    const box = await sandbox({ withSnapshot: true });
    const target = await box.dir("scratch");
    const hook = join(box.root, "present.sh");
    await writeFile(hook, "echo 'could not connect' >&2\nexit 1\n");
    const env = box.env("app", { BACKUP_DIR: target, RESTORE_PRESENT_HOOK: hook });
    const result = await box.script("restore.sh", env);
    assert.notEqual(result.code, 0);
    assert.deepEqual(await readdir(target), []);
  });

  it("initialises a repository only when none exists and reuses it afterwards", async () => {
    const box = await sandbox({ withSnapshot: false });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v1");
    // Retention off: two snapshots of one day would otherwise be thinned to one.
    const env = box.env("app", {
      BACKUP_DIR: data,
      BACKUP_KEEP_DAILY: "0",
      BACKUP_KEEP_WEEKLY: "0",
      BACKUP_KEEP_MONTHLY: "0",
    });
    const first = await box.script("backup.sh", env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /initialise the repository/);
    const config = await readFile(join(box.repositoryDir, "config"));
    const second = await box.script("backup.sh", env);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /initialise/);
    assert.deepEqual(await readFile(join(box.repositoryDir, "config")), config);
    assert.equal((await box.snapshots(env)).length, 2);
  });

  it("leaves the volume's own lost+found out of the snapshot", async () => {
    const box = await sandbox({ withSnapshot: false });
    const data = await box.dir("data");
    await box.dir("data/lost+found");
    await writeFile(join(data, "lost+found", "#1234"), "fsck debris");
    await box.dir("data/nested/lost+found");
    await writeFile(join(data, "nested", "lost+found", "kept"), "app data");
    const env = box.env("app", { BACKUP_DIR: data });
    const result = await box.script("backup.sh", env);
    assert.equal(result.code, 0, result.stderr);
    const listed = await box.restic(["ls", "--host", "app", "latest"], env);
    assert.deepEqual(
      listed.stdout.split("\n").filter((line) => line.startsWith("/")),
      ["/nested", "/nested/lost+found", "/nested/lost+found/kept"],
    );
  });

  it("fails and initialises nothing when the repository password is wrong", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v1");
    const wrongPassword = join(box.root, "wrong-password");
    await writeFile(wrongPassword, "not the password\n");
    const storeBefore = await readdir(box.repositoryDir, { recursive: true });
    const env = box.env("app", { BACKUP_DIR: data, RESTIC_PASSWORD_FILE: wrongPassword });
    const result = await box.script("backup.sh", env);
    assert.notEqual(result.code, 0);
    assert.doesNotMatch(result.stderr, /initialise/);
    assert.deepEqual(await readdir(box.repositoryDir, { recursive: true }), storeBefore);
  });

  it("fails and initialises nothing when the remote is unreachable", async () => {
    const box = await sandbox({ withSnapshot: false });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v1");
    const env = box.env("app", {
      BACKUP_DIR: data,
      RCLONE_CONFIG: await box.unreachableRcloneConfig(),
      RESTIC_REPOSITORY: "rclone:unreachable:repo",
    });
    const result = await box.script("backup.sh", env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /cannot open the repository/);
    assert.doesNotMatch(result.stderr, /initialise/);
  });

  it("removes a stale lock left by a backup that died and then backs up", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v2");
    const env = box.env("app", { BACKUP_DIR: data });
    await kill(await box.holdLock(env));
    // The dead process's lock is real: it blocks anything that needs the repository exclusively.
    const blocked = await box.restic(["forget", "--host", "nobody", "--keep-last", "1"], env);
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.stderr, /already locked/);

    const result = await box.script("backup.sh", env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(join(box.repositoryDir, "locks")), []);
  });

  it("leaves the lock of a live backup alone and fails instead of pruning under it", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v2");
    const env = box.env("app", { BACKUP_DIR: data });
    const holder = await box.holdLock(env);
    try {
      const locks = await readdir(join(box.repositoryDir, "locks"));
      const result = await box.script("backup.sh", env);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /already locked/);
      assert.deepEqual(await readdir(join(box.repositoryDir, "locks")), locks);
    } finally {
      await kill(holder);
    }
  });

  it("forgets and prunes this app's snapshots beyond the retention policy and no other app's", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "today");
    const env = box.env("app", { BACKUP_DIR: data });
    const now = Date.now();
    for (const daysAgo of [3, 2, 1]) {
      const older = await box.restic(
        ["backup", "--stdin", "--stdin-filename", "old.bin", "--host", "app", "--tag", "app"].concat([
          "--time",
          resticTime(new Date(now - daysAgo * DAY)),
        ]),
        env,
        randomBytes(512 * 1024).toString("base64"),
      );
      assert.equal(older.code, 0, older.stderr);
    }
    const other = await box.restic(
      ["backup", "--stdin", "--stdin-filename", "x", "--host", "other-app", "--tag", "other-app"].concat([
        "--time",
        resticTime(new Date(now - 3 * DAY)),
      ]),
      env,
      "other",
    );
    assert.equal(other.code, 0, other.stderr);
    const sizeBefore = await directorySize(join(box.repositoryDir, "data"));

    const result = await box.script("backup.sh", {
      ...env,
      BACKUP_KEEP_DAILY: "2",
      BACKUP_KEEP_WEEKLY: "0",
      BACKUP_KEEP_MONTHLY: "0",
    });
    assert.equal(result.code, 0, result.stderr);

    const snapshots = await box.snapshots(env);
    const ages = snapshots
      .filter((s) => s.hostname === "app")
      .map((s) => Math.floor((now - Date.parse(s.time) + DAY / 2) / DAY))
      .sort();
    assert.deepEqual(ages, [0, 1]);
    assert.equal(snapshots.filter((s) => s.hostname === "other-app").length, 1);
    // Two days of 512 KiB of unique data were forgotten; prune must have given the space back.
    assert.ok((await directorySize(join(box.repositoryDir, "data"))) < sizeBefore - 800 * 1024);
  });

  it("runs the backup hook first so its dump is in the snapshot", async () => {
    const box = await sandbox({ withSnapshot: false });
    const data = await box.dir("dump");
    const hook = join(box.root, "dump-hook.sh");
    await writeFile(hook, 'echo "dump of $BACKUP_APP" > "$BACKUP_DIR/dump.sql"\n');
    const env = box.env("app", { BACKUP_DIR: data, BACKUP_HOOK: hook });
    const result = await box.script("backup.sh", env);
    assert.equal(result.code, 0, result.stderr);
    const dumped = await box.restic(["dump", "--host", "app", "latest", "/dump.sql"], env);
    assert.equal(dumped.stdout, "dump of app\n");
  });

  it("fails without taking a snapshot when the backup hook fails", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("dump");
    const hook = join(box.root, "dump-hook.sh");
    await writeFile(hook, "echo 'pg_dump: connection refused' >&2\nexit 3\n");
    const env = box.env("app", { BACKUP_DIR: data, BACKUP_HOOK: hook });
    const result = await box.script("backup.sh", env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /FAILED: backup hook/);
    assert.equal((await box.snapshots(env)).length, 1);
  });

  it("refuses to back up a volume whose restore did not finish", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("volume");
    await writeFile(join(data, ".restore-in-progress"), "");
    await writeFile(join(data, "half-written.bin"), "partial");
    const env = box.env("app", { BACKUP_DIR: data });
    const result = await box.script("backup.sh", env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /did not finish/);
    assert.equal((await box.snapshots(env)).length, 1);
  });

  it("takes a final backup tagged final, forgets nothing and verifies all data", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "last words");
    const env = box.env("app", { BACKUP_DIR: data });
    const yesterday = await box.restic(
      ["backup", "--stdin", "--stdin-filename", "f", "--host", "app", "--tag", "app", "--time"].concat([
        resticTime(new Date(Date.now() - DAY)),
      ]),
      env,
      "yesterday",
    );
    assert.equal(yesterday.code, 0, yesterday.stderr);
    const result = await box.script("backup.sh", {
      ...env,
      BACKUP_REASON: "final",
      BACKUP_KEEP_DAILY: "1",
      BACKUP_KEEP_WEEKLY: "0",
      BACKUP_KEEP_MONTHLY: "0",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /done: verify the repository \(read data: 100%\)/);
    const snapshots = await box.snapshots(env);
    assert.equal(snapshots.length, 3);
    const latest = snapshots.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).at(-1);
    assert.deepEqual(latest?.tags, ["app", "final"]);
  });

  it("checks the repository only on the days BACKUP_CHECK_DAYS names", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "x");
    const today = isoWeekdayUtc(new Date());
    const env = box.env("app", { BACKUP_DIR: data, BACKUP_CHECK_READ_DATA_SUBSET: "50%" });
    const otherDay = await box.script("backup.sh", { ...env, BACKUP_CHECK_DAYS: String((today % 7) + 1) });
    assert.equal(otherDay.code, 0, otherDay.stderr);
    assert.match(otherDay.stderr, /repository check not due today/);
    const checkDay = await box.script("backup.sh", { ...env, BACKUP_CHECK_DAYS: `${today}` });
    assert.equal(checkDay.code, 0, checkDay.stderr);
    assert.match(checkDay.stderr, /done: check the repository \(read data: 50%\)/);
  });

  it("exits 2 naming the setting when the configuration is missing or invalid", async () => {
    const box = await sandbox({ withSnapshot: false });
    const data = await box.dir("data");
    const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
      ["backup.sh", { ...box.env("app"), BACKUP_APP: "" }, /BACKUP_APP is not set/],
      ["backup.sh", box.env("a,b", { BACKUP_DIR: data }), /BACKUP_APP 'a,b' must be/],
      ["restore.sh", box.env("app"), /BACKUP_DIR is not set/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_KEEP_DAILY: "-1" }), /BACKUP_KEEP_DAILY/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_REASON: "manual" }), /BACKUP_REASON/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_CHECK_DAYS: "sunday" }), /BACKUP_CHECK_DAYS/],
      ["restore.sh", box.env("app", { BACKUP_DIR: data, RESTIC_PASSWORD_FILE: "" }), /RESTIC_PASSWORD/],
    ];
    for (const [script, env, message] of cases) {
      const result = await box.script(script as "backup.sh" | "restore.sh", env);
      assert.equal(result.code, 2, `${script}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(await readdir(box.storeDir), []);
  });

  it("passes shellcheck", async () => {
    const result = await run("shellcheck", ["-x", "backup.sh", "restore.sh", "common.sh"], {
      env: { PATH: process.env.PATH },
      cwd: resticScriptsDir,
    });
    assert.equal(result.code, 0, result.stdout);
  });
});
