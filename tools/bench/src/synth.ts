import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(__dirname, "..", "..", "..");

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

/**
 * Times `yarn synth --stack <stack>` (every project of the stack rendered and validated, as a
 * user runs it) against a Node process that only loads @pulumi/pulumi and @pulumi/kubernetes,
 * alternating the two so both see the same machine state, and prints medians and their ratio.
 */
export async function benchSynth(options: { stack: string; runs: number }): Promise<void> {
  const outDir = mkdtempSync(join(tmpdir(), "bench-synth-"));
  // Exactly what `yarn synth --stack <stack>` runs.
  const synth = ["tools/synth/bin/synth.cjs", "--stack", options.stack, "--out", outDir, "--quiet"];
  const bareLoad = ["-e", "require('@pulumi/pulumi'); require('@pulumi/kubernetes');"];
  const synthTimes: number[] = [];
  const loadTimes: number[] = [];
  try {
    // One unmeasured run of each warms the file cache and tsx's transform cache.
    timeCommand(synth);
    timeCommand(bareLoad);
    for (let run = 1; run <= options.runs; run++) {
      synthTimes.push(timeCommand(synth));
      loadTimes.push(timeCommand(bareLoad));
      process.stderr.write(`  run ${run}/${options.runs}\r`);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const synthMs = median(synthTimes);
  const loadMs = median(loadTimes);
  const ratio = synthMs / loadMs;
  console.log(
    `synth of every project of ${options.stack} (render + validate): ${synthMs.toFixed(0)} ms (median of ${options.runs})`,
  );
  console.log(
    `node loading @pulumi/pulumi + @pulumi/kubernetes only:    ${loadMs.toFixed(0)} ms (median of ${options.runs})`,
  );
  console.log(`ratio: ${ratio.toFixed(2)}x (target: at most 2.00x) ${ratio <= 2 ? "✓" : "✗ over target"}`);
}
