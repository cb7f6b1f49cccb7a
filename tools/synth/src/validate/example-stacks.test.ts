import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { synthAndValidate } from "../report";

const repoRoot = join(__dirname, "..", "..", "..", "..");

describe("the example stacks", () => {
  it("synthesize and validate without a problem on cloud-a", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "synth-validate-"));
    try {
      const report = await synthAndValidate({
        projectsDir: join(repoRoot, "pulumi", "projects"),
        stacks: ["cloud-a"],
        validate: true,
        outDir,
        workspaceRoots: [join(repoRoot, "pulumi")],
      });
      assert.deepEqual(report.problems, []);
      // No problems from nothing rendered would prove nothing: the stack must have had objects to check.
      const types = report.results.flatMap((stack) =>
        stack.projects.flatMap((project) => project.resources.map((r) => r.type)),
      );
      assert.ok(types.includes("kubernetes:helm.sh/v3:Release"), "a Helm release was validated");
      assert.ok(
        types.some((type) => type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/")),
        "a Kubernetes object was validated",
      );
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
