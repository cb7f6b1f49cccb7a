import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(__dirname, "..", "..", "..");
const projectsDir = join(repoRoot, "pulumi", "projects");

function timeCommand(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8" });
  const elapsed = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`${args.join(" ")} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  }
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** How many times the bare SDK load synth may take (issue #12). */
const target = 2.5;

/**
 * A copy of the workspace's projects in a tree laid out as the repository (every other file and
 * folder linked to the real one, so what programs read beside their projects is there), whose
 * `app`'s `Pulumi.<stack>.yaml` the bench changes (`setSize`: its storage size). Synth's caches
 * know the copy by its own path: the bench changes nothing the workspace's own synth reuses.
 */
function scratchProjects(root: string, app: string, stack: string) {
  const pulumiDir = join(root, "pulumi");
  mkdirSync(pulumiDir, { recursive: true });
  for (const entry of readdirSync(repoRoot)) {
    if (entry !== "pulumi" && entry !== ".git") symlinkSync(join(repoRoot, entry), join(root, entry));
  }
  for (const entry of readdirSync(join(repoRoot, "pulumi"))) {
    if (entry !== "projects") symlinkSync(join(repoRoot, "pulumi", entry), join(pulumiDir, entry));
  }
  const dir = join(pulumiDir, "projects");
  cpSync(projectsDir, dir, { recursive: true, filter: (source) => !source.includes("node_modules") });
  const stackFile = join(dir, app, `Pulumi.${stack}.yaml`);
  const original = readFileSync(stackFile, "utf8");
  const size = /^(\s+size:\s*)(\d+)Gi\b/m.exec(original);
  if (!size) throw new Error(`${stackFile} sets no storage size (size: <n>Gi) for the bench to change`);
  return {
    dir,
    /** Writes the stack file with the original storage size plus `extraGiB`. */
    setSize(extraGiB: number) {
      writeFileSync(stackFile, original.replace(size[0], `${size[1]}${Number(size[2]) + extraGiB}Gi`));
    },
  };
}

/**
 * Times `yarn synth --stack <stack>` (every project of the stack rendered and validated, as a
 * user runs it) against a Node process that only loads @pulumi/pulumi and @pulumi/kubernetes,
 * alternating them so all see the same machine state: cold (`--no-cache`: every program runs,
 * every object is validated), warm after one app's stack file changed (its program runs again,
 * the others' remembered runs are reused), and warm with nothing changed. The target is judged
 * on the warm run after a change: what a user waits for while editing.
 */
export async function benchSynth(options: { stack: string; runs: number; app: string }): Promise<void> {
  // Always the same path: synth's caches keep one entry per program of it, not one per bench.
  const root = join(tmpdir(), "homelab-bench-synth");
  rmSync(root, { recursive: true, force: true });
  const outDir = join(root, "out");
  const scratch = scratchProjects(root, options.app, options.stack);
  const synth = [
    "tools/synth/bin/synth.cjs",
    "--stack",
    options.stack,
    "--projects-dir",
    scratch.dir,
    "--out",
    outDir,
    "--quiet",
  ];
  const cold = [...synth, "--no-cache"];
  const bareLoad = ["-e", "require('@pulumi/pulumi'); require('@pulumi/kubernetes');"];
  const times = {
    load: [] as number[],
    cold: [] as number[],
    changed: [] as number[],
    unchanged: [] as number[],
  };
  try {
    // Unmeasured runs warm the file cache and tsx's transform cache, and prime synth's caches.
    scratch.setSize(0);
    timeCommand(cold);
    timeCommand(synth);
    timeCommand(bareLoad);
    for (let run = 1; run <= options.runs; run++) {
      times.load.push(timeCommand(bareLoad));
      times.cold.push(timeCommand(cold));
      // Each run sees the app's stack file differ from the run before.
      scratch.setSize(run % 2);
      times.changed.push(timeCommand(synth));
      times.unchanged.push(timeCommand(synth));
      process.stderr.write(`  run ${run}/${options.runs}\r`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const loadMs = median(times.load);
  const line = (label: string, values: number[]) => {
    const ms = median(values);
    return `${label.padEnd(58)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / loadMs).toFixed(2)}x`;
  };
  const changedRatio = median(times.changed) / loadMs;
  console.log(`synth of every project of ${options.stack} (render + validate), medians of ${options.runs}:`);
  console.log(line("node loading @pulumi/pulumi + @pulumi/kubernetes only", times.load));
  console.log(line("cold: --no-cache (every program runs)", times.cold));
  console.log(
    line(`warm: ${options.app}'s Pulumi.${options.stack}.yaml changed (it runs again)`, times.changed),
  );
  console.log(line("warm: nothing changed (every run reused)", times.unchanged));
  console.log(
    `target judged on warm after a change: ${changedRatio.toFixed(2)}x (at most ${target.toFixed(2)}x) ` +
      `${changedRatio <= target ? "✓" : "✗ over target"}; a cold synth is not held to it`,
  );
}
