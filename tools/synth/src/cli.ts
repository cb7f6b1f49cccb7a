import { resolve } from "node:path";
import { Command } from "commander";
import pc from "picocolors";
import { type SynthReport, synthAndValidate } from "./report";

const repoRoot = resolve(__dirname, "..", "..", "..");

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function printReport(report: SynthReport, outDir: string): void {
  for (const stack of report.stacks) {
    const kinds = new Map<string, number>();
    for (const project of stack.projects) {
      for (const [kind, count] of project.kinds) kinds.set(kind, (kinds.get(kind) ?? 0) + count);
    }
    const total = [...kinds.values()].reduce((sum, count) => sum + count, 0);
    console.log(
      `${pc.bold(stack.stack)}: ${stack.projects.map((p) => p.project).join(" → ") || "(no projects)"}`,
    );
    const byKind = [...kinds]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, count]) => `${kind} ${count}`);
    console.log(`  ${total} resources: ${byKind.join(", ")}`);
    for (const note of stack.examples) console.log(pc.dim(`  example data: ${note}`));
    for (const note of stack.skipped) console.log(pc.yellow(`  skipped: ${note}`));
  }
  if (report.warnings.length > 0) {
    console.log(
      pc.yellow(
        `${report.warnings.length} example value(s) to replace before a deployment (task up refuses them):`,
      ),
    );
    for (const warning of report.warnings) console.log(pc.yellow(`  ! ${warning}`));
  }
  for (const problem of report.problems) console.error(pc.red(`✗ ${problem}`));
  const seconds = (report.milliseconds / 1000).toFixed(2);
  if (report.problems.length === 0) {
    console.log(pc.green(`✓ synthesized ${report.stacks.length} stack(s) in ${seconds}s → ${outDir}`));
  } else {
    console.error(pc.red(`${report.problems.length} problem(s); output in ${outDir} (${seconds}s)`));
  }
}

const program = new Command("synth")
  .description(
    "Render every Pulumi project of the given stacks offline (mock runtime) and validate the result",
  )
  .option("-s, --stack <stack>", "a stack to synthesize (repeatable; default: all stacks)", collect)
  .option(
    "-p, --project <project>",
    "a project to synthesize, with those it references (repeatable)",
    collect,
  )
  .option("-o, --out <dir>", "output directory", "out")
  .option("--projects-dir <dir>", "where the Pulumi projects are", resolve(repoRoot, "pulumi", "projects"))
  .option("--no-validate", "skip schema and meaning validation")
  .option("--no-cache", "run every program and validate every object again, even those unchanged since")
  .option("-q, --quiet", "print only problems and the result line")
  .option(
    "--compare <dir>",
    "print what changed against a previous output directory (read before synth writes; may be --out itself)",
  )
  .option("--fail-on-risky", "with --compare: exit non-zero when a change is risky")
  .option("--deploy", "check for a real deployment: an example value left is a problem (task up runs this)")
  .action(
    async (options: {
      stack?: string[];
      project?: string[];
      out: string;
      projectsDir: string;
      validate: boolean;
      cache: boolean;
      quiet?: boolean;
      compare?: string;
      failOnRisky?: boolean;
      deploy?: boolean;
    }) => {
      const outDir = resolve(options.out);
      // Read first: the previous output may be the directory synth is about to overwrite.
      // Loaded only for --compare: most runs need none of it.
      const compare = options.compare ? (require("./compare") as typeof import("./compare")) : undefined;
      const previous = options.compare
        ? compare?.readSnapshot(resolve(options.compare), options.stack)
        : undefined;
      const report = await synthAndValidate({
        projectsDir: resolve(options.projectsDir),
        outDir,
        validate: options.validate,
        deploy: options.deploy === true,
        ...(options.cache
          ? {
              validationCacheFile: resolve(
                repoRoot,
                "node_modules",
                ".cache",
                "homelab-synth",
                "validation.json",
              ),
            }
          : {}),
        workspaceRoots: [resolve(repoRoot, "pulumi"), resolve(options.projectsDir)],
        referencesFile: resolve(repoRoot, "node_modules", ".cache", "homelab-synth", "references.json"),
        ...(options.cache
          ? { programCacheDir: resolve(repoRoot, "node_modules", ".cache", "homelab-synth", "programs") }
          : {}),
        ...(options.stack ? { stacks: options.stack } : {}),
        ...(options.project ? { projects: options.project } : {}),
        ...(options.quiet
          ? {}
          : {
              onProgress: ({ stack, project, phase }) => {
                if (phase === "done") process.stderr.write(pc.dim(`  ${stack}/${project}\n`));
              },
            }),
      });
      printReport(report, outDir);
      if (report.problems.length > 0) process.exitCode = 1;
      if (previous && compare && options.compare) {
        const stacks = report.stacks.map((stack) => stack.stack);
        for (const stack of stacks) {
          if (!previous.has(stack))
            console.log(pc.yellow(`${stack}: no previous output in ${options.compare}`));
        }
        const current = compare.readSnapshot(
          outDir,
          stacks.filter((stack) => previous.has(stack)),
        );
        const { lines, risky } = compare.formatDiffs(
          compare.compareSnapshots(previous, current, options.project),
          options.compare,
        );
        for (const line of lines) {
          const trimmed = line.trimStart();
          const color = trimmed.startsWith("⚠")
            ? pc.red
            : trimmed.startsWith("+")
              ? pc.green
              : trimmed.startsWith("-")
                ? pc.magenta
                : (text: string) => text;
          console.log(color(line));
        }
        if (risky > 0 && options.failOnRisky) process.exitCode = 1;
      }
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(pc.red(error instanceof Error ? error.message : String(error)));
  process.exitCode = 1;
});
