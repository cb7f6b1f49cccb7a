import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { compareSnapshots, formatDiffs, readSnapshot } from "../compare";
import { readProject } from "../projects";
import { synthAndValidate } from "../report";
import { runProgram } from "../run-program";
import { readStackConfig } from "../stack-config";
import type { StackSynth } from "../synth";
import { writeStack } from "../write";
import { setConfig } from "./example-stacks";

const repoRoot = resolve(__dirname, "..", "..", "..", "..");
const projectsDir = join(repoRoot, "pulumi", "projects");

// The known change: vaultwarden's volume on cloud-a moves to another storage class.
const expected = [
  "cloud-a/vaultwarden: 0 added, 0 removed, 1 changed",
  "  ~ PersistentVolumeClaim vaultwarden/data",
  '      spec.storageClassName: (none) → "fast"',
  "      ⚠ PersistentVolumeClaim replaced (spec.storageClassName): a new, empty volume",
];

describe("synth --compare", () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "synth-compare-"));
    // A: the example stack as it is. B: the same with the changed config, written the same way.
    const report = await synthAndValidate({
      projectsDir,
      workspaceRoots: [join(repoRoot, "pulumi")],
      outDir: join(dir, "a"),
      validate: false,
      stacks: ["cloud-a"],
      projects: ["vaultwarden"],
    });
    assert.deepEqual(report.problems, []);
    const stack = report.results[0] as StackSynth;
    const info = readProject(join(projectsDir, "vaultwarden"));
    const config = readStackConfig(info, "cloud-a");
    setConfig("vaultwarden", { storage: { size: "2Gi", className: "fast" } })(config);
    const run = await runProgram(
      info,
      "cloud-a",
      config,
      (name) => stack.projects.find((project) => project.project === name)?.outputs,
      [join(repoRoot, "pulumi")],
    );
    assert.deepEqual(run.errors, []);
    const changed: StackSynth = {
      ...stack,
      projects: stack.projects.map((project) =>
        project.project === "vaultwarden"
          ? { ...run, secretValues: [...config.secretValues, ...run.generatedSecrets] }
          : project,
      ),
    };
    assert.deepEqual(writeStack(join(dir, "b"), changed), []);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the changed object with its field, flagged as a replacement", () => {
    const { lines, risky } = formatDiffs(
      compareSnapshots(readSnapshot(join(dir, "a")), readSnapshot(join(dir, "b"))),
      "a",
    );
    assert.deepEqual(lines, [...expected, "compared with a: 1 change(s) in 1 project(s), 1 risky"]);
    assert.equal(risky, 1);
  });

  it("runs from the command line, and fails on the risky change with --fail-on-risky", () => {
    // The CLI renders the stack as it is and compares it with B: the change, the other way round.
    const cli = spawnSync(
      process.execPath,
      [
        join(repoRoot, "tools", "synth", "bin", "synth.cjs"),
        ...["--stack", "cloud-a", "--project", "vaultwarden", "--no-validate", "--quiet"],
        ...["--out", join(dir, "c"), "--compare", join(dir, "b"), "--fail-on-risky"],
      ],
      { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
    );
    const lines = cli.stdout.split("\n");
    const start = lines.indexOf("cloud-a/vaultwarden: 0 added, 0 removed, 1 changed");
    assert.ok(start >= 0, cli.stdout + cli.stderr);
    assert.deepEqual(lines.slice(start, start + 5), [
      "cloud-a/vaultwarden: 0 added, 0 removed, 1 changed",
      "  ~ PersistentVolumeClaim vaultwarden/data",
      '      spec.storageClassName: "fast" → (none)',
      "      ⚠ PersistentVolumeClaim replaced (spec.storageClassName): a new, empty volume",
      `compared with ${join(dir, "b")}: 1 change(s) in 1 project(s), 1 risky`,
    ]);
    assert.equal(cli.status, 1);
    // Comparing the output with itself shows nothing, and succeeds.
    const again = spawnSync(
      process.execPath,
      [
        join(repoRoot, "tools", "synth", "bin", "synth.cjs"),
        ...["--stack", "cloud-a", "--project", "vaultwarden", "--no-validate", "--quiet"],
        ...["--out", join(dir, "c"), "--compare", join(dir, "c"), "--fail-on-risky"],
      ],
      { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
    );
    assert.match(again.stdout, /compared with .*: no changes/);
    assert.equal(again.status, 0, again.stderr);
  });
});
