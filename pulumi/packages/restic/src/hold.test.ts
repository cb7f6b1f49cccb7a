import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describeTree, missingBinaries, ResticSandbox } from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone"]);

/**
 * Which server holds an app, as backup.sh, restore.sh and hold.sh keep it beside the app's
 * repository: one app, `app`, moving between servers `cloud-a` and `cloud-b`.
 */
describe("the hold of an app's repository: which server writes its history", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
  concurrency: 3,
}, () => {
  const sandboxes: ResticSandbox[] = [];
  let runs = 0;

  async function sandbox(): Promise<ResticSandbox> {
    const box = await ResticSandbox.create();
    sandboxes.push(box);
    return box;
  }
  after(async () => {
    await Promise.all(sandboxes.map((box) => box.cleanup()));
  });

  /** The app's job environment on a server; no prune or check (they would only slow this down). */
  const on = (box: ResticSandbox, server: string, extra: Record<string, string> = {}) =>
    box.env("app", { BACKUP_SERVER: server, BACKUP_PRUNE_DAYS: "none", BACKUP_CHECK_DAYS: "none", ...extra });

  /** Backs the app up on a server, from a volume holding one file that names it. */
  async function backup(box: ResticSandbox, server: string, extra: Record<string, string> = {}) {
    const volume = await box.dir(`volume-${++runs}`);
    await writeFile(join(volume, "file"), `written on ${server}`);
    return box.script("backup.sh", on(box, server, { BACKUP_DIR: volume, ...extra }));
  }

  /** Restores the app on a server into a new empty volume. */
  async function restore(box: ResticSandbox, server: string, extra: Record<string, string> = {}) {
    const volume = await box.dir(`restored-${++runs}`);
    const result = await box.script("restore.sh", on(box, server, { BACKUP_DIR: volume, ...extra }));
    return { ...result, volume };
  }

  /** The id of the app's newest snapshot. */
  async function newest(box: ResticSandbox): Promise<string> {
    const snapshots = await box.snapshots(on(box, "cloud-a"));
    const latest = snapshots.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).at(-1);
    assert.ok(latest, "no snapshot");
    return latest.id;
  }

  /** A final backup on a server, and its snapshot's id. */
  async function finalBackup(box: ResticSandbox, server: string): Promise<string> {
    const result = await backup(box, server, { BACKUP_REASON: "final" });
    assert.equal(result.code, 0, result.stderr);
    return newest(box);
  }

  /** `hold.sh show`, with nothing but the records' place and the storage's rclone config. */
  async function show(box: ResticSandbox): Promise<string> {
    const result = await box.hold(["show"], {
      PATH: process.env.PATH,
      HOME: box.homeDir,
      RCLONE_CONFIG: box.rcloneConfig,
      RESTIC_REPOSITORY: box.repository,
    });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim();
  }

  const holdsDir = (box: ResticSandbox) => join(box.repositoryDir, ".homelab-holds");
  const holdFiles = async (box: ResticSandbox) =>
    existsSync(holdsDir(box)) ? (await readdir(holdsDir(box))).sort() : [];

  it("takes the hold at the first backup, and tags every snapshot with the server it was taken on", async () => {
    const box = await sandbox();
    for (const run of [1, 2]) {
      const result = await backup(box, "cloud-a");
      assert.equal(result.code, 0, `run ${run}: ${result.stderr}`);
    }
    assert.deepEqual(await holdFiles(box), ["0000000001-cloud-a"]);
    assert.match(
      await readFile(join(holdsDir(box), "0000000001-cloud-a"), "utf8"),
      /^server cloud-a\nsince none\nat \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nreason first\n$/,
    );
    assert.match(await show(box), /^server=cloud-a since=none at=\S+Z reason=first$/);
    const env = on(box, "cloud-a");
    assert.deepEqual(
      (await box.snapshots(env)).map((snapshot) => snapshot.tags),
      [
        ["app", "server:cloud-a"],
        ["app", "server:cloud-a"],
      ],
    );
    // The tag selects them in restic's own filters, as the pinned restore's check does.
    const selected = async (tags: string) =>
      JSON.parse((await box.restic(["snapshots", "--json", "--host", "app", "--tag", tags], env)).stdout);
    assert.equal((await selected("app,server:cloud-a")).length, 2);
    assert.equal((await selected("app,server:cloud-b")).length, 0);
  });

  it("refuses a backup on a server that does not hold the app, before its hook, writing nothing", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const before = (await readdir(box.repositoryDir, { recursive: true })).sort();
    const proof = join(box.root, "hook-ran");
    const hook = join(box.root, "hook.sh");
    await writeFile(hook, `touch "${proof}"\n`);
    const refused = await backup(box, "cloud-b", { BACKUP_HOOK: hook });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /this server \(cloud-b\) no longer holds app: it moved to cloud-a \(since no snapshot, at \S+, first\); nothing was written/,
    );
    assert.match(refused.stderr, /task migrate APP=app TO=cloud-b/);
    assert.equal(existsSync(proof), false);
    assert.deepEqual((await readdir(box.repositoryDir, { recursive: true })).sort(), before);
  });

  it("moves the app with a pinned restore of its holder's final backup, after which the old server's backups are refused", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const final = await finalBackup(box, "cloud-a");
    const moved = await restore(box, "cloud-b", { RESTORE_SNAPSHOT: final });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(await readFile(join(moved.volume, "file"), "utf8"), "written on cloud-a");
    assert.match(await show(box), new RegExp(`^server=cloud-b since=${final} at=\\S+ reason=migrate$`));
    assert.deepEqual(await holdFiles(box), ["0000000001-cloud-a", "0000000002-cloud-b"]);

    const stale = await backup(box, "cloud-a");
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(
      stale.stderr,
      new RegExp(
        `no longer holds app: it moved to cloud-b \\(since snapshot ${final.slice(0, 8)}, at \\S+, migrate\\)`,
      ),
    );
    assert.equal(await newest(box), final);
    const next = await backup(box, "cloud-b");
    assert.equal(next.code, 0, next.stderr);
    assert.notEqual(await newest(box), final);
  });

  it("refuses a pinned restore of a snapshot that is not its holder's final backup, or not the app's newest", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const scheduled = await newest(box);
    const notFinal = await restore(box, "cloud-b", { RESTORE_SNAPSHOT: scheduled });
    assert.equal(notFinal.code, 1, notFinal.stderr);
    assert.match(
      notFinal.stderr,
      new RegExp(
        `snapshot ${scheduled.slice(0, 8)} is not a final backup of cloud-a \\(.*\\), which holds app`,
      ),
    );
    assert.deepEqual(await readdir(notFinal.volume), []);

    const final = await finalBackup(box, "cloud-a");
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const written = await newest(box);
    const notNewest = await restore(box, "cloud-b", { RESTORE_SNAPSHOT: final });
    assert.equal(notNewest.code, 1, notNewest.stderr);
    assert.match(
      notNewest.stderr,
      new RegExp(
        `snapshot ${final.slice(0, 8)} is not app's newest: ${written.slice(0, 8)} was written after it`,
      ),
    );
    assert.match(notNewest.stderr, /nothing was restored, and no hold taken/);
    assert.deepEqual(await readdir(notNewest.volume), []);
    assert.deepEqual(await holdFiles(box), ["0000000001-cloud-a"]);
  });

  it("returns the app to its source with hold.sh take when the new server never became healthy", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const final = await finalBackup(box, "cloud-a");
    assert.equal((await restore(box, "cloud-b", { RESTORE_SNAPSHOT: final })).code, 0);

    const env = { PATH: process.env.PATH, HOME: box.homeDir, RCLONE_CONFIG: box.rcloneConfig };
    const records = { ...env, RESTIC_REPOSITORY: box.repository };
    for (const run of [1, 2]) {
      const taken = await box.hold(["take", "cloud-a", final, "rollback"], records);
      assert.equal(taken.code, 0, `run ${run}: ${taken.stderr}`);
    }
    assert.match(await show(box), new RegExp(`^server=cloud-a since=${final} at=\\S+ reason=rollback$`));
    // Taken once: run again it found the hold as it wanted it.
    assert.deepEqual(await holdFiles(box), [
      "0000000001-cloud-a",
      "0000000002-cloud-b",
      "0000000003-cloud-a",
    ]);

    const back = await restore(box, "cloud-a", { RESTORE_SNAPSHOT: final });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await readFile(join(back.volume, "file"), "utf8"), "written on cloud-a");
    assert.equal((await holdFiles(box)).length, 3);
    assert.equal((await backup(box, "cloud-a")).code, 0);
    assert.equal((await backup(box, "cloud-b")).code, 1);
  });

  it("returns the app to its source with a pinned restore of the snapshot the new server took it from, while that wrote nothing since", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const final = await finalBackup(box, "cloud-a");
    assert.equal((await restore(box, "cloud-b", { RESTORE_SNAPSHOT: final })).code, 0);

    const back = await restore(box, "cloud-a", { RESTORE_SNAPSHOT: final });
    assert.equal(back.code, 0, back.stderr);
    assert.match(await show(box), new RegExp(`^server=cloud-a since=${final} at=\\S+ reason=migrate$`));
    assert.equal((await backup(box, "cloud-b")).code, 1);
    assert.equal((await backup(box, "cloud-a")).code, 0);
  });

  it("takes the app from the server that holds it only with RESTORE_FORCE_HOLD, saying what is given up", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const latest = await newest(box);
    const refused = await restore(box, "cloud-b");
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /cloud-a \(since no snapshot, at \S+, first\) holds app: nothing was restored/,
    );
    assert.match(refused.stderr, /use task migrate APP=app TO=cloud-b/);
    assert.deepEqual(await readdir(refused.volume), []);

    const forced = await restore(box, "cloud-b", { RESTORE_FORCE_HOLD: "true" });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stderr,
      new RegExp(
        "RESTORE_FORCE_HOLD=true: .* Taking app anyway: backups of cloud-a are refused from now on, and " +
          `what was written after snapshot ${latest.slice(0, 8)} is not in this restore`,
      ),
    );
    assert.equal(await readFile(join(forced.volume, "file"), "utf8"), "written on cloud-a");
    assert.match(await show(box), new RegExp(`^server=cloud-b since=${latest} at=\\S+ reason=forced$`));
    assert.equal((await backup(box, "cloud-a")).code, 1);
  });

  it("ends a pinned restore run again, after it died before or after taking the hold, as one run would", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    const final = await finalBackup(box, "cloud-a");
    const volume = await box.dir("volume-on-cloud-b");
    const failing = join(box.root, "failing-hook.sh");
    await writeFile(failing, "exit 4\n");
    const job = (extra: Record<string, string> = {}) =>
      box.script("restore.sh", on(box, "cloud-b", { BACKUP_DIR: volume, RESTORE_SNAPSHOT: final, ...extra }));

    // Died before the hold: the app is still cloud-a's.
    assert.notEqual((await job({ RESTORE_HOOK: failing })).code, 0);
    assert.match(await show(box), /^server=cloud-a /);
    const first = await job();
    assert.equal(first.code, 0, first.stderr);
    const tree = await describeTree(volume);
    const holds = await holdFiles(box);
    assert.deepEqual(holds, ["0000000001-cloud-a", "0000000002-cloud-b"]);

    // Died after the hold, before its marker was removed.
    await writeFile(join(volume, ".restore-in-progress"), "");
    const again = await job();
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /held by cloud-b \(since snapshot [0-9a-f]{8}, at \S+, migrate\): nothing to take/,
    );
    assert.deepEqual(await describeTree(volume), tree);
    assert.deepEqual(await holdFiles(box), holds);
  });

  it("takes the hold at a fresh start, and refuses one where another server holds the app", async () => {
    const box = await sandbox();
    const fresh = await restore(box, "cloud-b");
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stderr, /fresh start/);
    assert.match(await show(box), /^server=cloud-b since=none at=\S+ reason=first$/);

    const elsewhere = await restore(box, "cloud-a");
    assert.equal(elsewhere.code, 1, elsewhere.stderr);
    assert.match(
      elsewhere.stderr,
      /cloud-b \(since no snapshot, at \S+, first\) holds app: nothing was restored/,
    );
    // Nor does its backup create the repository cloud-b's backups will.
    assert.equal((await backup(box, "cloud-a")).code, 1);
    assert.deepEqual((await readdir(box.repositoryDir)).sort(), [".homelab-holds", ".homelab-repository"]);
    const first = await backup(box, "cloud-b");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /initialise the repository/);
  });

  it("stops backup and restore when the holds cannot be listed", async () => {
    const box = await sandbox();
    assert.equal((await backup(box, "cloud-a")).code, 0);
    // restic reaches the repository on disk; the records' place is on storage nobody answers for.
    const unreachable = {
      RESTIC_REPOSITORY: box.repositoryDir,
      BACKUP_RECORDS: "unreachable:repo",
      RCLONE_CONFIG: await box.unreachableRcloneConfig(),
    };
    const message =
      /cannot list unreachable:repo\/\.homelab-holds \(rclone exit \d+\): which server holds app cannot be told/;
    const backedUp = await backup(box, "cloud-a", unreachable);
    assert.equal(backedUp.code, 1, backedUp.stderr);
    assert.match(backedUp.stderr, message);
    const restored = await restore(box, "cloud-a", unreachable);
    assert.equal(restored.code, 1, restored.stderr);
    assert.match(restored.stderr, message);
    assert.deepEqual(await readdir(restored.volume), []);
    assert.equal((await box.snapshots(on(box, "cloud-a"))).length, 1);
  });

  it("reads a file among the holds that is no hold record as an error, never as nobody holding the app", async () => {
    const box = await sandbox();
    await mkdir(holdsDir(box));
    await writeFile(join(holdsDir(box), "notes.txt"), "moved by hand");
    const result = await backup(box, "cloud-a");
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /holds 'notes\.txt', which is no hold record: which server holds app cannot be told/,
    );
    assert.equal(existsSync(join(box.repositoryDir, "config")), false);
    const shown = await box.hold(["show"], on(box, "cloud-a"));
    assert.equal(shown.code, 1, shown.stderr);
  });

  it("hold.sh exits 2 on bad usage", async () => {
    const box = await sandbox();
    const cases: [string[], RegExp][] = [
      [[], /usage: hold\.sh show/],
      [["take", "cloud-a", "latest", "rollback"], /SINCE 'latest' must be a full snapshot id/],
      [["take", "cloud a", "none", "rollback"], /SERVER 'cloud a' must be/],
      [["take", "cloud-a", "none", "because"], /REASON must be first, migrate, rollback or forced/],
    ];
    for (const [args, message] of cases) {
      const result = await box.hold(args, on(box, "cloud-a"));
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(await holdFiles(box), []);
  });
});
