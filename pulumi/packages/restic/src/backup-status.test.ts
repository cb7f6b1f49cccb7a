import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { missingBinaries, ResticSandbox, resticScriptsDir, run } from "./testing/restic-sandbox";

const missing = missingBinaries(["bash", "restic", "rclone", "node"]);

// Stands in for the Pulumi CLI: `stack output backups` and `config get` answer from files in the
// project's directory (outputs.json, config.json), as a deployed stack would.
const fakePulumi = `#!/usr/bin/env bash
set -euo pipefail
cwd=""
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  [ "\${args[i]}" != --cwd ] || cwd=\${args[i + 1]}
done
case "$1 $2" in
  "stack output")
    [ -f "$cwd/outputs.json" ] || { echo "error: no output backups" >&2; exit 255; }
    node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).backups))' "$cwd/outputs.json" ;;
  "config get")
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]])' "$cwd/config.json" "$3" ;;
  *) exit 64 ;;
esac
`;

describe("task backup:status", { skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false }, () => {
  let box: ResticSandbox;
  let bin: string;

  /**
   * A project directory with a stack file, and what its deployed stack would answer; the shared
   * project holds the stack's backup secrets.
   */
  async function project(
    projects: string,
    name: string,
    backups?: { app: string; schedule: string; repository: string }[],
  ): Promise<void> {
    const dir = join(projects, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "Pulumi.cloud-a.yaml"), "config: {}\n");
    if (name === "shared") {
      await writeFile(
        join(dir, "config.json"),
        JSON.stringify({
          "backup:resticPassword": (await readFile(box.passwordFile, "utf8")).trim(),
          "backup:rcloneConfig": await readFile(box.rcloneConfig, "utf8"),
        }),
      );
    }
    if (backups) await writeFile(join(dir, "outputs.json"), JSON.stringify({ backups }));
  }

  async function status(projects: string) {
    return run("bash", [join(resticScriptsDir, "backup-status.sh"), "cloud-a", projects], {
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: box.root },
    });
  }

  before(async () => {
    box = await ResticSandbox.create();
    bin = await box.dir("bin");
    await writeFile(join(bin, "pulumi"), fakePulumi);
    await chmod(join(bin, "pulumi"), 0o755);
    const data = await box.dir("data");
    await writeFile(join(data, "db.sql"), "dump");
    const backup = await box.script("backup.sh", box.env("postgresql", { BACKUP_DIR: data }));
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(() => box.cleanup());

  it("lists each app's latest snapshot from the projects' backups outputs and succeeds when all are fresh", async () => {
    const projects = await box.dir("fresh");
    await project(projects, "postgresql", [
      { app: "postgresql", schedule: "0 3 * * *", repository: box.repository },
    ]);
    await project(projects, "shared");
    const result = await status(projects);
    assert.equal(result.code, 0, result.stderr);
    const [header, row] = result.stdout.trim().split("\n");
    assert.match(header ?? "", /^APP\s+LATEST SNAPSHOT \(UTC\)\s+AGE\s+SCHEDULE\s+STATUS$/);
    assert.match(row ?? "", /^postgresql\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+.+\s+0 3 \* \* \*\s+ok$/);
  });

  it("flags an app without snapshots as stale and fails", async () => {
    const projects = await box.dir("stale");
    await project(projects, "postgresql", [
      { app: "postgresql", schedule: "0 3 * * *", repository: box.repository },
    ]);
    await project(projects, "mariadb", [
      { app: "mariadb", schedule: "0 4 * * *", repository: box.repository },
    ]);
    await project(projects, "shared");
    const result = await status(projects);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^mariadb\s+none\s+-\s+0 4 \* \* \*\s+STALE$/m);
    assert.match(result.stdout, /^postgresql\s+.*ok$/m);
  });

  it("fails, naming the app, when a repository cannot be read", async () => {
    const projects = await box.dir("unreadable");
    await project(projects, "postgresql", [
      { app: "postgresql", schedule: "0 3 * * *", repository: box.repository },
    ]);
    await project(projects, "mariadb", [
      { app: "mariadb", schedule: "0 4 * * *", repository: `rclone:local:${box.root}/missing` },
    ]);
    await project(projects, "shared");
    const result = await status(projects);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /mariadb: cannot read the repository of mariadb/);
    assert.match(result.stdout, /^mariadb\s+none/m);
  });

  it("passes shellcheck", {
    skip: missingBinaries(["shellcheck"]).length > 0 ? "needs shellcheck" : false,
  }, async () => {
    const result = await run("shellcheck", ["backup-status.sh"], {
      env: { PATH: process.env.PATH },
      cwd: resticScriptsDir,
    });
    assert.equal(result.code, 0, result.stdout);
  });
});
