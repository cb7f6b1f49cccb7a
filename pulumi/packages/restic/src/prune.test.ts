import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OperatorMachine } from "./testing/operator-tools";
import { kill, missingBinaries, ResticSandbox, resticScriptsDir, run } from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone", "node"]);
const DAY = 24 * 60 * 60 * 1000;

/** restic's --time format, in local time. */
function resticTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

describe("task backup:prune", { skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false }, () => {
  let box: ResticSandbox;
  let operator: OperatorMachine;
  const notesSecrets = "secrets/apps/notes.yaml";
  const wikiSecrets = "secrets/apps/wiki.yaml";
  const retention = { daily: 2, weekly: 0, monthly: 0 };

  /** The repository of an app, in the sandbox's store: its own, as in the cluster. */
  const repositoryOf = (app: string) => `rclone:local:${box.storeDir}/${app}`;
  /** What restic needs to open an app's repository with its password. */
  const resticEnv = (app: string, password: string) => ({
    ...box.env(app),
    RESTIC_REPOSITORY: repositoryOf(app),
    RESTIC_PASSWORD: password,
    RESTIC_PASSWORD_FILE: "",
  });

  /** An app's repository with a snapshot of each of the last `days` days and one of today. */
  async function repositoryWithHistory(app: string, password: string, days: number): Promise<void> {
    const env = resticEnv(app, password);
    assert.equal((await box.restic(["init"], env)).code, 0);
    for (let daysAgo = days; daysAgo >= 0; daysAgo--) {
      const result = await box.restic(
        ["backup", "--stdin", "--stdin-filename", "data.bin", "--host", app, "--tag", app, "--time"].concat(
          resticTime(new Date(Date.now() - daysAgo * DAY)),
        ),
        env,
        randomBytes(64 * 1024).toString("base64"),
      );
      assert.equal(result.code, 0, result.stderr);
    }
  }

  const ages = async (app: string, password: string) =>
    (await box.snapshots(resticEnv(app, password)))
      .map((snapshot) => Math.floor((Date.now() - Date.parse(snapshot.time) + DAY / 2) / DAY))
      .sort();

  /** A stack whose project `notes` backs up notes and wiki, each with its own password. */
  async function stack(name: string): Promise<string> {
    const projects = await box.dir(name);
    await operator.project(projects, "notes", [
      {
        app: "notes",
        schedule: "0 3 * * *",
        repository: repositoryOf("notes"),
        retention,
        secretsFile: notesSecrets,
      },
      {
        app: "wiki",
        schedule: "0 4 * * *",
        repository: repositoryOf("wiki"),
        retention,
        secretsFile: wikiSecrets,
      },
    ]);
    await operator.project(projects, "shared");
    return projects;
  }

  /** prune.sh for stack cloud-a: every app, or only `app` (the task passes APP, empty when not given). */
  function prune(projects: string, app = "", extra: Record<string, string> = {}) {
    return run("bash", [join(resticScriptsDir, "prune.sh"), "cloud-a", app, projects], {
      env: { ...operator.env(box.root, box.rcloneConfig), ...extra },
    });
  }

  before(async () => {
    box = await ResticSandbox.create();
    operator = await OperatorMachine.create(await box.dir("operator"));
    await operator.secretsFile(notesSecrets, {
      resticPassword: "notes-password",
      rcloneConfig: "[storage]\n",
    });
    await operator.secretsFile(wikiSecrets, { resticPassword: "wiki-password", rcloneConfig: "[storage]\n" });
  });
  after(() => box.cleanup());

  it("forgets and prunes each app's snapshots beyond its retention, opening each repository with its own password", async () => {
    await repositoryWithHistory("notes", "notes-password", 4);
    await repositoryWithHistory("wiki", "wiki-password", 3);
    const result = await prune(await stack("all"));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await ages("notes", "notes-password"), [0, 1]);
    assert.deepEqual(await ages("wiki", "wiki-password"), [0, 1]);
    assert.match(result.stderr, /prune\[notes\]: done: check the repository/);
    // Nothing of the passwords is written to the log.
    assert.doesNotMatch(result.stderr + result.stdout, /notes-password|wiki-password/);
  });

  it("prunes only the app named, removing the stale lock a dead job left", async () => {
    await box.restic(["init"], resticEnv("solo", "notes-password"));
    const projects = await box.dir("only");
    await operator.project(projects, "solo", [
      {
        app: "solo",
        schedule: "0 3 * * *",
        repository: repositoryOf("solo"),
        retention,
        secretsFile: notesSecrets,
      },
    ]);
    await operator.project(projects, "other", [
      {
        app: "other",
        schedule: "0 3 * * *",
        repository: `rclone:local:${box.root}/missing`,
        retention,
        secretsFile: wikiSecrets,
      },
    ]);
    await kill(await box.holdLock(resticEnv("solo", "notes-password"), join(box.storeDir, "solo")));
    const result = await prune(projects, "solo");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /done: remove stale locks/);
    assert.deepEqual(await readdir(join(box.storeDir, "solo", "locks")), []);
    assert.doesNotMatch(result.stderr, /prune\[other\]/);
  });

  it("changes nothing in a dry run, saying what it would forget", async () => {
    await repositoryWithHistory("dry", "notes-password", 3);
    const projects = await box.dir("dry-run");
    await operator.project(projects, "dry", [
      {
        app: "dry",
        schedule: "0 3 * * *",
        repository: repositoryOf("dry"),
        retention,
        secretsFile: notesSecrets,
      },
    ]);
    const result = await prune(projects, "dry", { DRY_RUN: "1" });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /remove 2 snapshots/);
    assert.deepEqual(await ages("dry", "notes-password"), [0, 1, 2, 3]);
  });

  it("fails, naming the app, when its repository cannot be opened, and still prunes the others", async () => {
    await repositoryWithHistory("good", "notes-password", 3);
    const projects = await box.dir("failing");
    await operator.project(projects, "good", [
      {
        app: "good",
        schedule: "0 3 * * *",
        repository: repositoryOf("good"),
        retention,
        secretsFile: notesSecrets,
      },
      // Opened with another repository's password: restic refuses it.
      {
        app: "bad",
        schedule: "0 3 * * *",
        repository: repositoryOf("good"),
        retention,
        secretsFile: wikiSecrets,
      },
    ]);
    const result = await prune(projects);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /prune failed for: bad/);
    assert.deepEqual(await ages("good", "notes-password"), [0, 1]);
  });

  it("refuses an app the stack does not back up, listing the ones it does", async () => {
    const result = await prune(await stack("unknown"), "nope");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /stack cloud-a backs up no app nope; it backs up: notes wiki/);
  });

  it("is what the root Taskfile's backup:prune runs", async () => {
    const taskfile = await readFile(
      join(resticScriptsDir, "..", "..", "..", "..", "taskfiles", "backup.yml"),
      "utf8",
    );
    assert.match(
      taskfile,
      /bash pulumi\/packages\/restic\/scripts\/prune\.sh \{\{\.STACK\}\} '\{\{\.APP\}\}'/,
    );
  });
});
