import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OperatorMachine } from "./testing/operator-tools";
import { missingBinaries, ResticSandbox, resticScriptsDir, run } from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone", "node"]);

describe("task backup:status", { skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false }, () => {
  let box: ResticSandbox;
  let operator: OperatorMachine;
  const secretsFile = "secrets/backups/postgresql-cloud-a.yaml";

  async function status(projects: string) {
    return run("bash", [join(resticScriptsDir, "backup-status.sh"), "cloud-a", projects], {
      env: operator.env(box.root, box.rcloneConfig),
    });
  }

  before(async () => {
    box = await ResticSandbox.create();
    operator = await OperatorMachine.create(await box.dir("operator"));
    // The repository's own password, in its secrets file (sops, read with the operator's age key).
    await operator.secretsFile(secretsFile, {
      resticPassword: (await readFile(box.passwordFile, "utf8")).trim(),
      rcloneConfig: "[storage]\ntype = s3\n",
    });
    const data = await box.dir("data");
    await writeFile(join(data, "db.sql"), "dump");
    const backup = await box.script("backup.sh", box.env("postgresql", { BACKUP_DIR: data }));
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(() => box.cleanup());

  it("lists each app's latest snapshot from the projects' backups outputs and succeeds when all are fresh", async () => {
    const projects = await box.dir("fresh");
    await operator.project(projects, "postgresql", [
      { app: "postgresql", schedule: "0 3 * * *", repository: box.repository, secretsFile },
    ]);
    const result = await status(projects);
    assert.equal(result.code, 0, result.stderr);
    const [header, row] = result.stdout.trim().split("\n");
    assert.match(header ?? "", /^APP\s+LATEST SNAPSHOT \(UTC\)\s+AGE\s+SCHEDULE\s+STATUS$/);
    assert.match(row ?? "", /^postgresql\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+.+\s+0 3 \* \* \*\s+ok$/);
  });

  it("flags an app without snapshots as stale and fails", async () => {
    const projects = await box.dir("stale");
    await operator.project(projects, "postgresql", [
      { app: "postgresql", schedule: "0 3 * * *", repository: box.repository, secretsFile },
    ]);
    await operator.project(projects, "mariadb", [
      { app: "mariadb", schedule: "0 4 * * *", repository: box.repository, secretsFile },
    ]);
    const result = await status(projects);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^mariadb\s+none\s+-\s+0 4 \* \* \*\s+STALE$/m);
    assert.match(result.stdout, /^postgresql\s+.*ok$/m);
  });

  it("fails, naming the app, when a repository cannot be read", async () => {
    const projects = await box.dir("unreadable");
    await operator.project(projects, "postgresql", [
      { app: "postgresql", schedule: "0 3 * * *", repository: box.repository, secretsFile },
    ]);
    await operator.project(projects, "mariadb", [
      {
        app: "mariadb",
        schedule: "0 4 * * *",
        repository: `rclone:local:${box.root}/missing`,
        secretsFile,
      },
    ]);
    const result = await status(projects);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /mariadb: cannot read the repository of mariadb/);
    assert.match(result.stdout, /^mariadb\s+none/m);
  });

  it("fails, naming the file, when a repository's password cannot be decrypted", async () => {
    const projects = await box.dir("undecryptable");
    await operator.project(projects, "postgresql", [
      {
        app: "postgresql",
        schedule: "0 3 * * *",
        repository: box.repository,
        secretsFile: "secrets/backups/nowhere.yaml",
      },
    ]);
    const result = await status(projects);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot decrypt resticPassword of secrets\/backups\/nowhere\.yaml/);
  });

  it("passes shellcheck", {
    skip: missingBinaries(["shellcheck"]).length > 0 ? "needs shellcheck" : false,
  }, async () => {
    const result = await run("shellcheck", ["-x", "backup-status.sh", "prune.sh", "operator-lib.sh"], {
      env: { PATH: process.env.PATH },
      cwd: resticScriptsDir,
    });
    assert.equal(result.code, 0, result.stdout);
  });
});
