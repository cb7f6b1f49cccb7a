import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { closedPort, kill, missingBinaries, ResticSandbox } from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone"]);

/** Resolves once something accepts TCP connections on the port. */
async function listening(port: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => resolve(socket.end() !== undefined));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (server.exitCode !== null || Date.now() > deadline)
      throw new Error("rclone serve restic did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// `rclone serve restic --append-only` is the storage here: like restic's rest-server in that mode,
// it lets restic create files and delete lock files only, and refuses to delete or overwrite
// anything else (rclone cmd/serve/restic, restic rest-server repo/repo.go). A storage key that
// cannot delete history stands where it does in the cluster.
describe("backup.sh on append-only storage (BACKUP_APPEND_ONLY=true)", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let box: ResticSandbox;
  let server: ChildProcess;
  let url: string;

  before(async () => {
    box = await ResticSandbox.create();
    const port = await closedPort();
    server = spawn(
      "rclone",
      ["serve", "restic", "--append-only", "--addr", `127.0.0.1:${port}`, box.storeDir],
      {
        env: { PATH: process.env.PATH, HOME: box.root, RCLONE_CONFIG: box.rcloneConfig },
        stdio: "ignore",
      },
    );
    await listening(port, server);
    url = `rest:http://127.0.0.1:${port}`;
  });
  after(async () => {
    await kill(server);
    await box.cleanup();
  });

  /** An app's job environment against its own repository on the append-only server. */
  async function job(app: string, extra: Record<string, string> = {}) {
    const data = await box.dir(`${app}-data`);
    await writeFile(join(data, "file"), `${app} data`);
    // The server carries restic's files only: the repository's records are reached beside it.
    await box.initRepository(join(box.storeDir, app));
    return box.env(app, {
      BACKUP_DIR: data,
      RESTIC_REPOSITORY: `${url}/${app}`,
      BACKUP_RECORDS: `local:${join(box.storeDir, app)}`,
      // Keep one daily snapshot: without append-only this would forget the older ones.
      BACKUP_KEEP_DAILY: "1",
      BACKUP_KEEP_WEEKLY: "0",
      BACKUP_KEEP_MONTHLY: "0",
      BACKUP_CHECK_DAYS: "*",
      ...extra,
    });
  }

  it("backs up, forgets and prunes nothing, and passes the repository check", async () => {
    const env = await job("notes", { BACKUP_APPEND_ONLY: "true" });
    for (const run of [1, 2, 3]) {
      const result = await box.script("backup.sh", env);
      assert.equal(result.code, 0, `run ${run}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /append-only \(BACKUP_APPEND_ONLY=true\); the operator's task backup:prune forgets/,
      );
      assert.doesNotMatch(result.stderr, /start: retention/);
      assert.match(result.stderr, /done: check the repository/);
    }
    assert.equal((await box.snapshots(env)).length, 3);
    // restic removed its own locks: the server allows deleting lock files, and nothing else.
    assert.deepEqual(await readdir(join(box.storeDir, "notes", "locks")), []);
  });

  it("removes a stale lock before backing up, as lock files may be deleted", async () => {
    const env = await job("wiki", { BACKUP_APPEND_ONLY: "true" });
    assert.equal((await box.script("backup.sh", env)).code, 0);
    await kill(await box.holdLock(env, join(box.storeDir, "wiki")));
    const result = await box.script("backup.sh", env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /done: open the repository and remove stale locks/);
    assert.deepEqual(await readdir(join(box.storeDir, "wiki", "locks")), []);
  });

  it("runs on a storage that really refuses to delete a snapshot, where a forget could not work", async () => {
    const env = await job("chat", { BACKUP_APPEND_ONLY: "true" });
    assert.equal((await box.script("backup.sh", env)).code, 0);
    const [snapshot] = await readdir(join(box.storeDir, "chat", "snapshots"));
    assert.ok(snapshot);
    const refused = await fetch(`${url.replace(/^rest:/, "")}/chat/snapshots/${snapshot}`, {
      method: "DELETE",
    });
    assert.equal(refused.status, 403);
    assert.deepEqual(await readdir(join(box.storeDir, "chat", "snapshots")), [snapshot]);
  });

  it("exits 2 on a BACKUP_APPEND_ONLY that is neither true nor false", async () => {
    const result = await box.script("backup.sh", await job("typo", { BACKUP_APPEND_ONLY: "yes" }));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /BACKUP_APPEND_ONLY must be 'true' or 'false', got 'yes'/);
  });
});
