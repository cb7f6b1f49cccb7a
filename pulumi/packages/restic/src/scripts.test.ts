import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
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

  it("restores exactly the snapshot RESTORE_SNAPSHOT names when RESTORE_FORCE_HOLD passes over a newer one", async () => {
    const box = await sandbox({ withSnapshot: true });
    const [pinned] = await box.snapshots(box.env("app"));
    const newer = await box.dir("newer");
    await writeFile(join(newer, "written-after.txt"), "a stale writer's file");
    const backup = await box.script("backup.sh", box.env("app", { BACKUP_DIR: newer }));
    assert.equal(backup.code, 0, backup.stderr);
    const target = await box.dir("restored");
    const result = await box.script(
      "restore.sh",
      box.env("app", {
        BACKUP_DIR: target,
        RESTORE_SNAPSHOT: pinned?.id.slice(0, 8) ?? "",
        RESTORE_FORCE_HOLD: "true",
      }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`restore snapshot ${pinned?.id} into`));
    assert.deepEqual(await describeTree(target), sampleTree);
  });

  const refusedPins: [string, (box: ResticSandbox) => Promise<Record<string, string>>, RegExp][] = [
    [
      "another app's snapshot",
      async (box) => {
        const other = await box.restic(
          ["backup", "--stdin", "--stdin-filename", "x", "--host", "other-app", "--tag", "other-app"],
          box.env("other-app"),
          "other",
        );
        assert.equal(other.code, 0, other.stderr);
        const id = (await box.snapshots(box.env("app"))).find((s) => s.hostname === "other-app")?.id ?? "";
        return { RESTORE_SNAPSHOT: id };
      },
      /RESTORE_SNAPSHOT [0-9a-f]{64} is not one of app's snapshots \(0 match\)/,
    ],
    [
      "a snapshot that is gone",
      async () => ({ RESTORE_SNAPSHOT: "0123abcd" }),
      /is not one of app's snapshots/,
    ],
    [
      "a repository that does not exist (its place marked)",
      async (box) => {
        const place = join(box.root, "new", "repo");
        await box.initRepository(place);
        return { RESTORE_SNAPSHOT: "0123abcd", RESTIC_REPOSITORY: `rclone:local:${place}` };
      },
      /no repository exists: nothing restored/,
    ],
  ];
  for (const [what, pin, message] of refusedPins) {
    it(`restores nothing, and never starts fresh, when RESTORE_SNAPSHOT names ${what}`, async () => {
      const box = await sandbox({ withSnapshot: true });
      const target = await box.dir("volume");
      const result = await box.script(
        "restore.sh",
        box.env("app", { BACKUP_DIR: target, ...(await pin(box)) }),
      );
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, message);
      assert.deepEqual(await readdir(target), []);
    });
  }

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

  it("starts fresh, writing nothing but its hold and creating no repository, when the repository does not exist", async () => {
    const box = await sandbox({ withSnapshot: false });
    const target = await box.dir("volume");
    const result = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /no repository exists yet, and its records show that none was ever created: fresh start/,
    );
    assert.deepEqual(await readdir(target), []);
    assert.deepEqual((await readdir(box.repositoryDir)).sort(), [".homelab-holds", ".homelab-repository"]);
  });

  it("records once that the repository exists, beside its files: the one it creates, and one created before the records", async () => {
    const record = join("repo", ".homelab-created");
    const created = await readFile(join(template.storeDir, record), "utf8");
    assert.match(created, /^created \d{4}-\d\d-\d\dT[\d:]{8}Z\n$/);
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v2");
    const again = await box.script("backup.sh", box.env("app", { BACKUP_DIR: data }));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await readFile(join(box.storeDir, record), "utf8"), created);
    await rm(join(box.storeDir, record));
    const result = await box.script("backup.sh", box.env("app", { BACKUP_DIR: data }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(await readFile(join(box.storeDir, record), "utf8"), /^created /);
  });

  it("refuses to start the app empty, or a new history, when the repository its record says existed is gone", async () => {
    const box = await sandbox({ withSnapshot: true });
    for (const entry of await readdir(box.repositoryDir)) {
      if (!entry.startsWith(".homelab-")) await rm(join(box.repositoryDir, entry), { recursive: true });
    }
    const target = await box.dir("volume");
    const restore = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target }));
    assert.notEqual(restore.code, 0);
    assert.match(
      restore.stderr,
      /the repository at local:\S+ was created \(created [\dTZ:-]+\) and is not there now/,
    );
    assert.deepEqual(await readdir(target), []);
    await writeFile(join(target, "file"), "written by an app started by hand");
    const backup = await box.script("backup.sh", box.env("app", { BACKUP_DIR: target }));
    assert.notEqual(backup.code, 0);
    assert.match(backup.stderr, /refusing to start app empty, or a new history beside the lost one/);
    assert.deepEqual((await readdir(box.repositoryDir)).sort(), [
      ".homelab-created",
      ".homelab-holds",
      ".homelab-repository",
    ]);
  });

  const unmarkedPlaces: [string, (box: ResticSandbox) => Promise<string>][] = [
    [
      "its bucket or path is gone (deleted with its records, a typo in backup:remote)",
      async (box) => join(box.root, "gone", "repo"),
    ],
    [
      "it is another place, never initialised (another account's bucket)",
      (box) => box.dir("other-bucket/repo"),
    ],
  ];
  for (const [situation, place] of unmarkedPlaces) {
    it(`neither starts empty nor creates a repository when its place shows no marker: ${situation}`, async () => {
      const box = await sandbox({ withSnapshot: false });
      const dir = await place(box);
      const before = existsSync(dir) ? await readdir(dir) : undefined;
      const repository = { RESTIC_REPOSITORY: `rclone:local:${dir}` };
      const target = await box.dir("volume");
      const restore = await box.script("restore.sh", box.env("app", { BACKUP_DIR: target, ...repository }));
      assert.notEqual(restore.code, 0);
      assert.match(restore.stderr, /restic finds no repository at local:\S+, and neither does its marker/);
      assert.match(restore.stderr, /task backup:init-repository NAME=repo STACK=<stack>/);
      assert.deepEqual(await readdir(target), []);
      await writeFile(join(target, "file"), "data");
      const backup = await box.script("backup.sh", box.env("app", { BACKUP_DIR: target, ...repository }));
      assert.notEqual(backup.code, 0);
      assert.match(backup.stderr, /neither does its marker/);
      assert.deepEqual(existsSync(dir) ? await readdir(dir) : undefined, before);
    });
  }

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

  it("leaves the lock of a live backup alone and, on a prune day, fails instead of pruning under it", async () => {
    const box = await sandbox({ withSnapshot: true });
    const data = await box.dir("data");
    await writeFile(join(data, "file"), "v2");
    const env = box.env("app", { BACKUP_DIR: data, BACKUP_PRUNE_DAYS: "*" });
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

  // The sandbox's snapshot and the new one are today's; three more are one to three days old.
  const pruneDays: [string, (today: number) => string, number[]][] = [
    ["on a prune day, forgets and prunes", (today) => String(today), [0, 1]],
    ["on another day, neither forgets nor prunes", (today) => String((today % 7) + 1), [0, 0, 1, 2, 3]],
  ];
  for (const [when, days, kept] of pruneDays) {
    it(`${when} this app's snapshots beyond the retention policy and no other app's`, async () => {
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
        BACKUP_PRUNE_DAYS: days(isoWeekdayUtc(new Date())),
      });
      assert.equal(result.code, 0, result.stderr);

      const snapshots = await box.snapshots(env);
      const ages = snapshots
        .filter((s) => s.hostname === "app")
        .map((s) => Math.floor((now - Date.parse(s.time) + DAY / 2) / DAY))
        .sort();
      assert.deepEqual(ages, kept);
      assert.equal(snapshots.filter((s) => s.hostname === "other-app").length, 1);
      const sizeAfter = await directorySize(join(box.repositoryDir, "data"));
      if (kept.length === 2) {
        // Two days of 512 KiB of unique data were forgotten, and the prune gave the space back.
        assert.ok(sizeAfter < sizeBefore - 800 * 1024);
      } else {
        assert.ok(sizeAfter >= sizeBefore);
        assert.match(result.stderr, /retention and prune not due today \(BACKUP_PRUNE_DAYS='\d'\)/);
      }
    });
  }

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
    assert.deepEqual(latest?.tags, ["app", "server:cloud-a", "final"]);
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
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_SERVER: "" }), /BACKUP_SERVER is not set/],
      [
        "restore.sh",
        box.env("app", { BACKUP_DIR: data, BACKUP_SERVER: "cloud a" }),
        /BACKUP_SERVER 'cloud a' must be/,
      ],
      [
        "restore.sh",
        box.env("app", { BACKUP_DIR: data, RESTORE_FORCE_HOLD: "yes" }),
        /RESTORE_FORCE_HOLD must be 'true' or 'false'/,
      ],
      ["restore.sh", box.env("app"), /BACKUP_DIR is not set/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_KEEP_DAILY: "-1" }), /BACKUP_KEEP_DAILY/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_REASON: "manual" }), /BACKUP_REASON/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_CHECK_DAYS: "sunday" }), /BACKUP_CHECK_DAYS/],
      ["backup.sh", box.env("app", { BACKUP_DIR: data, BACKUP_PRUNE_DAYS: "0" }), /BACKUP_PRUNE_DAYS/],
      ["restore.sh", box.env("app", { BACKUP_DIR: data, RESTIC_PASSWORD_FILE: "" }), /RESTIC_PASSWORD/],
      [
        "restore.sh",
        box.env("app", { BACKUP_DIR: data, RESTORE_SNAPSHOT: "latest" }),
        /RESTORE_SNAPSHOT 'latest'/,
      ],
      [
        "restore.sh",
        box.env("app", { BACKUP_DIR: data, RESTIC_REPOSITORY: join(box.root, "plain-repo") }),
        /BACKUP_RECORDS is not set/,
      ],
    ];
    for (const [script, env, message] of cases) {
      const result = await box.script(script as "backup.sh" | "restore.sh", env);
      assert.equal(result.code, 2, `${script}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(await readdir(box.repositoryDir), [".homelab-repository"]);
  });

  it("passes shellcheck", async () => {
    const result = await run("shellcheck", ["-x", "backup.sh", "restore.sh", "hold.sh", "common.sh"], {
      env: { PATH: process.env.PATH },
      cwd: resticScriptsDir,
    });
    assert.equal(result.code, 0, result.stdout);
  });
});

describe("backup.sh and restore.sh with the app's volumes (BACKUP_VOLUMES) beside a hook's dump", {
  skip,
  concurrency: 3,
}, () => {
  const volumes = ["data", "config"];
  // A snapshot of two volumes and a dump, copied by the tests that need it.
  let template: ResticSandbox;
  let trees: Record<string, TreeEntry[]>;
  let dumpHook: string;
  let proofHook: string;
  const sandboxes: ResticSandbox[] = [];

  async function sandbox(options: { withSnapshot: boolean }): Promise<ResticSandbox> {
    const created = await ResticSandbox.create();
    sandboxes.push(created);
    if (options.withSnapshot) await cp(template.storeDir, created.storeDir, { recursive: true });
    return created;
  }

  /** The job's variables for a pod directory holding the volumes' mount points. */
  function envFor(box: ResticSandbox, pod: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return box.env("app", { BACKUP_DIR: pod, BACKUP_VOLUMES: volumes.join(" "), ...extra });
  }

  async function writeHook(box: ResticSandbox, name: string, body: string): Promise<string> {
    const path = join(box.root, name);
    await writeFile(path, body);
    return path;
  }

  async function treesOf(pod: string): Promise<Record<string, TreeEntry[]>> {
    return Object.fromEntries(
      await Promise.all(volumes.map(async (volume) => [volume, await describeTree(join(pod, volume))])),
    );
  }

  const markers = (pod: string) =>
    volumes.filter((volume) => existsSync(join(pod, volume, ".restore-in-progress")));

  before(async () => {
    template = await ResticSandbox.create();
    sandboxes.push(template);
    const pod = await template.podDir("pod", volumes);
    await writeSampleTree(join(pod, "data"));
    await template.dir("pod/config/nested/deeper");
    await writeFile(join(pod, "config", "settings.json"), '{"theme":"dark"}\n');
    await writeFile(join(pod, "config", "nested", "deeper", "key.pem"), "-----BEGIN-----\n");
    trees = await treesOf(pod);
    // mkfs debris on a volume: never backed up.
    await template.dir("pod/data/lost+found");
    await writeFile(join(pod, "data", "lost+found", "#1234"), "fsck debris");
    dumpHook = await writeHook(
      template,
      "dump-hook.sh",
      'echo "dump of $BACKUP_APP" > "$BACKUP_DIR/dump.sql"\n',
    );
    // What a restore hook sees: BACKUP_DIR's entries, the dump, and which volumes carry the marker.
    proofHook = await writeHook(
      template,
      "proof-hook.sh",
      `{ ls -A "$BACKUP_DIR"; cat "$BACKUP_DIR/dump.sql"
        for v in ${volumes.join(" ")}; do [ ! -e "$BACKUP_DIR/$v/.restore-in-progress" ] || echo "marker in $v"; done
      } > "$PROOF"\n`,
    );
    const result = await template.script("backup.sh", envFor(template, pod, { BACKUP_HOOK: dumpHook }));
    assert.equal(result.code, 0, result.stderr);
  });

  after(async () => {
    await Promise.all(sandboxes.map((s) => s.cleanup()));
  });

  it("snapshots each volume as the directory of its name beside the hook's dump and the list of volumes, without lost+found", async () => {
    const env = template.env("app");
    const paths = await template.listLatest(env);
    assert.deepEqual(
      paths.filter((path) => path.split("/").length === 2),
      ["/.backup-volumes", "/config", "/data", "/dump.sql"],
    );
    assert.ok(paths.includes("/config/nested/deeper/key.pem"));
    assert.ok(paths.includes("/data/config/nested/deeper/data.bin"));
    assert.deepEqual(
      paths.filter((path) => path.includes("lost+found")),
      [],
    );
    const layout = await template.restic(["dump", "--host", "app", "latest", "/.backup-volumes"], env);
    assert.equal(layout.stdout, "data\nconfig\n");
  });

  it("restores each volume into its mount point and the dump beside them, marking every volume until the hook is done", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("restored", volumes);
    const proof = join(box.root, "proof");
    const result = await box.script(
      "restore.sh",
      envFor(box, pod, { RESTORE_HOOK: proofHook, PROOF: proof }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await treesOf(pod), trees);
    assert.equal(
      await readFile(proof, "utf8"),
      ".backup-volumes\nconfig\ndata\ndump.sql\ndump of app\nmarker in data\nmarker in config\n",
    );
    assert.deepEqual(markers(pod), []);
  });

  it("skips the restore and touches nothing when every volume holds data", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("full", volumes);
    await writeFile(join(pod, "data", "live.db"), "live");
    await writeFile(join(pod, "config", "live.json"), "{}");
    const before = await treesOf(pod);
    const result = await box.script("restore.sh", envFor(box, pod));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /data already present: skipping the restore/);
    assert.deepEqual(await treesOf(pod), before);
  });

  it("fails, touching nothing and naming the parts, when some volumes hold data and others none", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("mixed", volumes);
    await box.dir("mixed/config/lost+found");
    await writeFile(join(pod, "data", "live.db"), "live");
    const before = await treesOf(pod);
    const result = await box.script("restore.sh", envFor(box, pod));
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /only part of the app's data is there: volume data holds data, volume config holds none/,
    );
    assert.match(result.stderr, /Nothing was touched/);
    assert.deepEqual(await treesOf(pod), before);
    assert.deepEqual(markers(pod), []);
  });

  it("counts the present-hook's answer as one more part, the database", async () => {
    const box = await sandbox({ withSnapshot: true });
    const cases: [string, boolean, RegExp][] = [
      ["present", false, /the database holds data, volume data and volume config hold none/],
      ["absent", true, /volume data and volume config hold data, the database holds none/],
      ["present", true, /data already present: skipping the restore/],
    ];
    for (const [answer, volumesHoldData, expected] of cases) {
      const pod = await box.podDir(`${answer}-${volumesHoldData}`, volumes);
      if (volumesHoldData) for (const volume of volumes) await writeFile(join(pod, volume, "live"), "live");
      const before = await treesOf(pod);
      const hook = await writeHook(box, `present-${answer}.sh`, `echo ${answer}\n`);
      const result = await box.script("restore.sh", envFor(box, pod, { RESTORE_PRESENT_HOOK: hook }));
      assert.equal(result.code !== 0, !expected.source.includes("skipping"), result.stderr);
      assert.match(result.stderr, expected);
      assert.deepEqual(await treesOf(pod), before);
      assert.deepEqual(await readdir(pod), volumes.toSorted());
    }
  });

  it("redoes an unfinished restore: empties every volume and the scratch and restores without asking the present-hook", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("after-crash", volumes);
    await writeFile(join(pod, "data", ".restore-in-progress"), "");
    await writeFile(join(pod, "data", "half-written.bin"), "partial");
    await writeFile(join(pod, "config", "settings.json"), "partial");
    await writeFile(join(pod, "dump.sql"), "a dump of the dead restore");
    await box.dir("after-crash/config/lost+found");
    const failingPresentHook = await writeHook(box, "present.sh", "echo 'must not be asked' >&2\nexit 7\n");
    const proof = join(box.root, "proof");
    const result = await box.script(
      "restore.sh",
      envFor(box, pod, { RESTORE_PRESENT_HOOK: failingPresentHook, RESTORE_HOOK: proofHook, PROOF: proof }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /a previous restore into volume data did not finish: it starts over/);
    assert.deepEqual(await describeTree(join(pod, "data")), trees.data);
    assert.deepEqual(
      (await describeTree(join(pod, "config"))).filter((entry) => entry.path !== "lost+found"),
      trees.config,
    );
    assert.match(await readFile(proof, "utf8"), /^dump of app$/m);
    assert.deepEqual(markers(pod), []);
  });

  it("refuses to back up while any volume holds the restore marker", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("half-restored", volumes);
    await writeFile(join(pod, "data", "file"), "data");
    await writeFile(join(pod, "config", ".restore-in-progress"), "");
    const env = envFor(box, pod);
    const result = await box.script("backup.sh", env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /a restore into .*\/config did not finish/);
    assert.equal((await box.snapshots(env)).length, 1);
  });

  it("refuses to restore when the scratch directory holds anything beside the volumes", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("dirty", volumes);
    await writeFile(join(pod, "leftover.sql"), "old");
    const result = await box.script("restore.sh", envFor(box, pod));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /holds entries beside the volumes \(.*leftover\.sql\)/);
    assert.deepEqual(await readdir(pod), ["config", "data", "leftover.sql"]);
    assert.deepEqual(await treesOf(pod), { data: [], config: [] });
  });

  it("leaves a volume the snapshot holds nothing for empty and says so", async () => {
    const box = await sandbox({ withSnapshot: true });
    const pod = await box.podDir("grown", [...volumes, "cache"]);
    const result = await box.script("restore.sh", envFor(box, pod, { BACKUP_VOLUMES: "data config cache" }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /volume cache: the snapshot holds no files for it/);
    assert.deepEqual(await readdir(join(pod, "cache")), []);
    assert.deepEqual(await treesOf(pod), trees);
  });

  it("restores a snapshot taken before the app had BACKUP_VOLUMES into its one volume, and refuses with several", async () => {
    const box = await sandbox({ withSnapshot: false });
    const plain = await box.dir("plain-volume");
    await writeSampleTree(plain);
    const tree = await describeTree(plain);
    const backup = await box.script("backup.sh", box.env("app", { BACKUP_DIR: plain }));
    assert.equal(backup.code, 0, backup.stderr);

    const several = await box.podDir("several", volumes);
    const refused = await box.script("restore.sh", envFor(box, several));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /taken without BACKUP_VOLUMES .* nothing tells which of the volumes data config/,
    );
    assert.deepEqual(await treesOf(several), { data: [], config: [] });
    assert.deepEqual(markers(several), []);

    const one = await box.podDir("one", ["data"]);
    const restored = await box.script("restore.sh", envFor(box, one, { BACKUP_VOLUMES: "data" }));
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /taken without BACKUP_VOLUMES: its files go into volume data/);
    assert.deepEqual(await describeTree(join(one, "data")), tree);
    assert.deepEqual(await readdir(one), ["data"]);
  });

  it("warns about each empty volume and still backs up", async () => {
    const box = await sandbox({ withSnapshot: false });
    const pod = await box.podDir("new-app", volumes);
    await writeFile(join(pod, "data", "file"), "data");
    const result = await box.script("backup.sh", envFor(box, pod));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: volume config \(.*\) is empty/);
    assert.doesNotMatch(result.stderr, /warning: volume data/);
  });

  it("leaves the paths BACKUP_EXCLUDE lists out of the snapshot and keeps everything else", async () => {
    const box = await sandbox({ withSnapshot: false });
    // One volume as BACKUP_DIR: paths relative to it, restic patterns allowed.
    const data = await box.dir("plain");
    for (const dir of ["cache/sub", "keep/cache", "logs"]) await box.dir(`plain/${dir}`);
    for (const file of ["cache/a", "cache/sub/b", "keep/cache/kept", "logs/x.log", "logs/x.txt", "top.txt"]) {
      await writeFile(join(data, file), file);
    }
    const plainEnv = box.env("plain", { BACKUP_DIR: data, BACKUP_EXCLUDE: "cache/\nlogs/*.log\n\n" });
    const plain = await box.script("backup.sh", plainEnv);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(await box.listLatest(plainEnv), [
      "/keep",
      "/keep/cache",
      "/keep/cache/kept",
      "/logs",
      "/logs/x.txt",
      "/top.txt",
    ]);
    // With volumes: paths start with the volume's name.
    const pod = await box.podDir("pod", ["data"]);
    await box.dir("pod/data/icon_cache/large");
    await box.dir("pod/data/attachments/icon_cache");
    await writeFile(join(pod, "data", "icon_cache", "large", "a.png"), "icon");
    await writeFile(join(pod, "data", "attachments", "icon_cache", "kept.bin"), "kept");
    await writeFile(join(pod, "data", "db.sqlite3"), "rows");
    const podEnv = box.env("pod", {
      BACKUP_DIR: pod,
      BACKUP_VOLUMES: "data",
      BACKUP_EXCLUDE: "data/icon_cache",
    });
    const withVolumes = await box.script("backup.sh", podEnv);
    assert.equal(withVolumes.code, 0, withVolumes.stderr);
    assert.match(withVolumes.stderr, /excluding data\/icon_cache/);
    assert.deepEqual(await box.listLatest(podEnv), [
      "/.backup-volumes",
      "/data",
      "/data/attachments",
      "/data/attachments/icon_cache",
      "/data/attachments/icon_cache/kept.bin",
      "/data/db.sqlite3",
    ]);
  });

  it("exits 2 naming the setting when a volume or an exclude is invalid", async () => {
    const box = await sandbox({ withSnapshot: false });
    const pod = await box.podDir("pod", volumes);
    const cases: [string, Record<string, string>, RegExp][] = [
      ["backup.sh", { BACKUP_VOLUMES: "data Config" }, /BACKUP_VOLUMES: 'Config' is not a volume name/],
      ["restore.sh", { BACKUP_VOLUMES: "data_1" }, /BACKUP_VOLUMES: 'data_1' is not a volume name/],
      [
        "restore.sh",
        { BACKUP_VOLUMES: "data missing" },
        /\/missing \(the mount point of volume missing\) is not a directory/,
      ],
      ["backup.sh", { BACKUP_VOLUMES: "data data" }, /names volume 'data' twice/],
      [
        "backup.sh",
        { BACKUP_EXCLUDE: "/etc" },
        /BACKUP_EXCLUDE: '\/etc' is not a path relative to BACKUP_DIR/,
      ],
      [
        "backup.sh",
        { BACKUP_EXCLUDE: "data/cache\n../elsewhere" },
        /BACKUP_EXCLUDE: '\.\.\/elsewhere' must not hold/,
      ],
      [
        "backup.sh",
        { BACKUP_EXCLUDE: "data/../config" },
        /BACKUP_EXCLUDE: 'data\/\.\.\/config' must not hold/,
      ],
    ];
    for (const [script, extra, message] of cases) {
      const result = await box.script(script as "backup.sh" | "restore.sh", envFor(box, pod, extra));
      assert.equal(result.code, 2, `${script} ${JSON.stringify(extra)}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(await readdir(box.repositoryDir), [".homelab-repository"]);
  });
});
