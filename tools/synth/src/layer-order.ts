import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { synthAndValidate } from "./report";

/**
 * Prints the projects of a stack in the order they deploy (`reverse`: the order they are torn
 * down), as synth derived it from their StackReferences and wrote it to order.json. The stack
 * must synthesize and validate cleanly first: nothing is deployed from a broken desired state,
 * and with --deploy (task up, task up:all) nor from one that still holds an example value.
 */
const program = new Command("layer-order")
  .argument("<stack>", "the stack (server) whose layers to print")
  .argument("[direction]", '"reverse" for the order they are torn down')
  .option("--deploy", "refuse while an example value is left (before a real deployment)")
  .action(async (stack: string, direction: string | undefined, options: { deploy?: boolean }) => {
    if (direction !== undefined && direction !== "reverse") {
      throw new Error(`unknown direction "${direction}": give none, or "reverse"`);
    }
    const repoRoot = resolve(__dirname, "..", "..", "..");
    const outDir = join(repoRoot, ".synth");
    // The task reads the order from stdout: what the programs log (Pulumi's runtime prints its
    // messages with console.log when no engine runs) goes to stderr.
    console.log = console.error;
    const report = await synthAndValidate({
      projectsDir: join(repoRoot, "pulumi", "projects"),
      outDir,
      validate: true,
      deploy: options.deploy === true,
      stacks: [stack],
      workspaceRoots: [join(repoRoot, "pulumi")],
    });
    if (report.problems.length > 0) {
      throw new Error(
        `Stack "${stack}" is not ready to deploy (${report.problems.length} problem(s)):\n` +
          report.problems.map((problem) => `  ${problem}`).join("\n"),
      );
    }
    const order = JSON.parse(readFileSync(join(outDir, stack, "order.json"), "utf8")) as {
      projects: { project: string }[];
    };
    const projects = order.projects.map((entry) => entry.project);
    process.stdout.write(`${(direction === "reverse" ? projects.reverse() : projects).join(" ")}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
