import assert from "node:assert/strict";
import { readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  describeTree,
  missingBinaries,
  ResticSandbox,
  resticScriptsDir,
  run,
  writeSampleTree,
} from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone"]);
const skip = missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;

/** The data files (packs) of a repository, by their path under it. */
async function packs(repositoryDir: string): Promise<string[]> {
  const dataDir = join(repositoryDir, "data");
  const found: string[] = [];
  for (const sub of await readdir(dataDir)) {
    for (const name of await readdir(join(dataDir, sub))) found.push(join(dataDir, sub, name));
  }
  return found.sort();
}

describe("drill.sh restores a snapshot into scratch and checks it", { skip }, () => {
  let sandbox: ResticSandbox;
  let podDir: string;
  const volumes = ["data", "config"];

  before(async () => {
    sandbox = await ResticSandbox.create();
    podDir = await sandbox.podDir("pod", volumes);
    await writeSampleTree(join(podDir, "data"));
    await writeFile(join(podDir, "config", "settings.json"), '{"a":1}\n');
    const backup = await sandbox.script(
      "backup.sh",
      sandbox.env("notes", { BACKUP_DIR: podDir, BACKUP_VOLUMES: volumes.join(" ") }),
    );
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(async () => {
    await sandbox?.cleanup();
  });

  /** Runs drill.sh as the drill pod would: an empty scratch BACKUP_DIR, a fresh cache. */
  async function drill(name: string, extra: Record<string, string> = {}) {
    const scratch = await sandbox.dir(`${name}-scratch`);
    const cache = await sandbox.dir(`${name}-cache`);
    const env = sandbox.env("notes", {
      BACKUP_DIR: scratch,
      BACKUP_VOLUMES: volumes.join(" "),
      RESTIC_CACHE_DIR: cache,
      ...extra,
    });
    return { scratch, result: await run("bash", [join(resticScriptsDir, "drill.sh")], { env }) };
  }

  it("passes on a good snapshot: file count and size match, the app's volumes untouched", async () => {
    const before = await describeTree(podDir);
    const { scratch, result } = await drill("good");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /done: restore snapshot [0-9a-f]{8} into .* \(and verify it\)/);
    assert.match(result.stderr, /restored (\d+) entries, (\d+) bytes: as the snapshot says/);
    assert.match(result.stderr, /drill passed/);
    // What was restored is the snapshot's content: the volumes' files, in scratch.
    assert.deepEqual(
      (await describeTree(join(scratch, "data"))).map((entry) => entry.path),
      (await describeTree(join(podDir, "data"))).map((entry) => entry.path),
    );
    assert.deepEqual(await describeTree(podDir), before, "the drill never touches the app's volumes");
  });

  it("refuses a scratch directory that holds anything", async () => {
    const scratch = await sandbox.dir("busy-scratch");
    await writeFile(join(scratch, "left-over"), "x");
    const result = await run("bash", [join(resticScriptsDir, "drill.sh")], {
      env: sandbox.env("notes", { BACKUP_DIR: scratch, RESTIC_CACHE_DIR: await sandbox.dir("busy-cache") }),
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /is not empty/);
  });

  it("waits while a job holds the repository's lock, and gives up naming the step", async () => {
    const holder = await sandbox.holdLock(sandbox.env("notes"));
    try {
      const { result } = await drill("locked", {
        DRILL_LOCK_WAIT_SECONDS: "2",
        DRILL_LOCK_POLL_SECONDS: "1",
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /the repository is locked/);
      assert.match(result.stderr, /FAILED: wait until no job of notes holds the repository's lock/);
      assert.doesNotMatch(result.stderr, /start: restore snapshot/);
    } finally {
      holder.kill("SIGKILL");
      await new Promise((resolve) => holder.once("exit", resolve));
      // The killed holder's lock is stale: removed as the next backup would.
      await sandbox.restic(["unlock", "--remove-all"], sandbox.env("notes"));
    }
  });

  it("fails on a snapshot with a missing pack, naming the restore step", async () => {
    const copy = await ResticSandbox.create();
    try {
      await rm(copy.storeDir, { recursive: true, force: true });
      await run("cp", ["-a", sandbox.storeDir, copy.storeDir], { env: { PATH: process.env.PATH } });
      const pod = await copy.podDir("pod2", volumes);
      await writeSampleTree(join(pod, "data"));
      await writeFile(join(pod, "config", "new.bin"), Buffer.alloc(64 * 1024, 7));
      const env = copy.env("notes", { BACKUP_DIR: pod, BACKUP_VOLUMES: volumes.join(" ") });
      const packsBefore = new Set(await packs(copy.repositoryDir));
      const backup = await copy.script("backup.sh", env);
      assert.equal(backup.code, 0, backup.stderr);
      const added = (await packs(copy.repositoryDir)).filter((pack) => !packsBefore.has(pack));
      assert.ok(added.length > 0, "the second backup wrote packs");
      // The newest snapshot's new data is lost from the storage.
      for (const pack of added) await rename(pack, `${pack}.lost`);
      const scratch = await copy.dir("broken-scratch");
      const result = await run("bash", [join(resticScriptsDir, "drill.sh")], {
        env: copy.env("notes", {
          BACKUP_DIR: scratch,
          BACKUP_VOLUMES: volumes.join(" "),
          RESTIC_CACHE_DIR: await copy.dir("broken-cache"),
        }),
      });
      assert.notEqual(result.code, 0, result.stderr);
      assert.match(result.stderr, /FAILED: (restore snapshot [0-9a-f]{8}|read snapshot [0-9a-f]{8})/);
      assert.doesNotMatch(result.stderr, /drill passed/);
    } finally {
      await copy.cleanup();
    }
  });

  it("drills exactly DRILL_SNAPSHOT, and refuses one that is not the app's", async () => {
    const [snapshot] = await sandbox.snapshots(sandbox.env("notes"));
    assert.ok(snapshot);
    const pinned = await drill("pinned", { DRILL_SNAPSHOT: snapshot.id.slice(0, 8) });
    assert.equal(pinned.result.code, 0, pinned.result.stderr);
    const wrong = await drill("wrong", { DRILL_SNAPSHOT: "deadbeef" });
    assert.equal(wrong.result.code, 1, wrong.result.stderr);
    assert.match(wrong.result.stderr, /is not one of notes's snapshots/);
  });
});
