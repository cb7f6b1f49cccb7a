import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { synthAndValidate } from "./report";

/**
 * Prints the projects of a stack in the order they deploy (`reverse`: the order they are torn
 * down), as synth derived it from their StackReferences and wrote it to order.json. The stack
 * must synthesize and validate cleanly first: nothing is deployed from a broken desired state.
 */
async function main(): Promise<void> {
  const [stack, direction] = process.argv.slice(2);
  if (!stack) throw new Error("usage: layer-order <stack> [reverse]");
  const repoRoot = resolve(__dirname, "..", "..", "..");
  const outDir = join(repoRoot, ".synth");
  const report = await synthAndValidate({
    projectsDir: join(repoRoot, "pulumi", "projects"),
    outDir,
    validate: true,
    stacks: [stack],
    workspaceRoots: [join(repoRoot, "pulumi")],
  });
  if (report.problems.length > 0) {
    throw new Error(`Stack "${stack}" does not synthesize cleanly:\n${report.problems.join("\n")}`);
  }
  const order = JSON.parse(readFileSync(join(outDir, stack, "order.json"), "utf8")) as {
    projects: { project: string }[];
  };
  const projects = order.projects.map((entry) => entry.project);
  console.log((direction === "reverse" ? projects.reverse() : projects).join(" "));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
