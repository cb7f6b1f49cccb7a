import assert from "node:assert/strict";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { missingBinaries, ResticSandbox, resticScriptsDir, run } from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone"]);

describe("init-repository.sh, behind task backup:init-repository", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let box: ResticSandbox;
  // The bucket the operator's credentials reach, under which each repository has its place.
  let bucket: string;

  const initRepository = (name: string, remote = `local:${bucket}`) =>
    run("bash", [join(resticScriptsDir, "init-repository.sh"), remote, name], {
      env: { PATH: process.env.PATH, HOME: box.homeDir, RCLONE_CONFIG: box.rcloneConfig },
    });
  const job = (app: string, dir: string) =>
    box.env(app, { BACKUP_DIR: dir, RESTIC_REPOSITORY: `rclone:local:${join(bucket, app)}` });

  before(async () => {
    box = await ResticSandbox.create();
    bucket = await box.dir("bucket");
  });
  after(() => box.cleanup());

  it("marks a new repository's place, so that its app starts empty and its first backup creates it", async () => {
    const result = await initRepository("notes");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /marked local:\S+\/notes as repository notes's/);
    assert.deepEqual(await readdir(join(bucket, "notes")), [".homelab-repository"]);
    const volume = await box.dir("notes-volume");
    const restore = await box.script("restore.sh", job("notes", volume));
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /fresh start/);
    await writeFile(join(volume, "note.txt"), "first note");
    const backup = await box.script("backup.sh", job("notes", volume));
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok((await readdir(join(bucket, "notes"))).includes(".homelab-created"));
  });

  it("changes nothing when run again", async () => {
    const before = await readFile(join(bucket, "notes", ".homelab-created"), "utf8");
    const result = await initRepository("notes");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /already marked/);
    assert.equal(await readFile(join(bucket, "notes", ".homelab-created"), "utf8"), before);
  });

  it("records an existing repository without records as created, so that losing its files never reads as new", async () => {
    await cp(join(bucket, "notes"), join(bucket, "wiki"), { recursive: true });
    for (const record of [".homelab-repository", ".homelab-created"]) await rm(join(bucket, "wiki", record));
    const result = await initRepository("wiki");
    assert.equal(result.code, 0, result.stderr);
    assert.match(await readFile(join(bucket, "wiki", ".homelab-created"), "utf8"), /^created /);
    for (const entry of ["config", "data", "index", "keys", "snapshots"]) {
      await rm(join(bucket, "wiki", entry), { recursive: true });
    }
    const restore = await box.script("restore.sh", job("wiki", await box.dir("wiki-volume")));
    assert.notEqual(restore.code, 0);
    assert.match(restore.stderr, /was created \(created \S+\) and is not there now/);
  });

  it("refuses a location its credentials cannot list, and a place holding something else", async () => {
    const gone = await initRepository("notes", `local:${join(box.root, "no-such-bucket")}`);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot list local:\S+ with your storage credentials: create the bucket/);
    await box.dir("bucket/photos");
    await writeFile(join(bucket, "photos", "IMG_0001.jpg"), "not a repository");
    const other = await initRepository("photos");
    assert.equal(other.code, 1);
    assert.match(other.stderr, /holds files but no restic repository \(IMG_0001\.jpg\)/);
    assert.deepEqual(await readdir(join(bucket, "photos")), ["IMG_0001.jpg"]);
  });

  it("refuses a name that is no repository's", async () => {
    const result = await initRepository("../notes");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /NAME '\.\.\/notes' must be letters/);
  });
});
