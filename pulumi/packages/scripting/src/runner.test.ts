import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { mergeEnvironments, runnerFile, type ScriptEnvironment } from "./environment";
import { renderRunner } from "./runner";

const root = mkdtempSync(join(tmpdir(), "runner-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

const shellcheckMissing = spawnSync("sh", ["-c", "command -v shellcheck"]).status !== 0;

let bundles = 0;
/**
 * Writes the files of environments and their generated runner into a directory, as the ConfigMap
 * mount would hold them. Every script appends its name to the file `$TRACE`.
 */
function writeBundle(environments: ScriptEnvironment[]): { dir: string; trace: string } {
  const merged = mergeEnvironments(environments);
  const dir = join(root, `bundle-${++bundles}`);
  spawnSync("mkdir", ["-p", dir]);
  for (const [name, content] of Object.entries(merged.scripts)) writeFileSync(join(dir, name), content);
  writeFileSync(
    join(dir, runnerFile),
    renderRunner({ bundle: "test", setups: merged.setups, cleanups: merged.cleanups, tools: false }),
  );
  return { dir, trace: join(dir, "trace") };
}

/** A script that records that it ran (with its arguments), then exits with `code`. */
function traced(name: string, code = 0): string {
  return `echo "${name}\${*:+ $*}" >> "$TRACE"\nexit ${code}\n`;
}

function environment(name: string, options: { setup?: number; cleanup?: number } = {}): ScriptEnvironment {
  const scripts: Record<string, string> = {};
  if (options.setup !== undefined) scripts[`${name}-setup.sh`] = traced(`${name}-setup`, options.setup);
  if (options.cleanup !== undefined)
    scripts[`${name}-cleanup.sh`] = traced(`${name}-cleanup`, options.cleanup);
  return {
    name,
    scripts,
    ...(options.setup !== undefined ? { setup: `${name}-setup.sh` } : {}),
    ...(options.cleanup !== undefined ? { cleanup: `${name}-cleanup.sh` } : {}),
  };
}

function main(code = 0): ScriptEnvironment {
  return { name: "main", scripts: { "main.sh": traced("main", code) } };
}

function runBundle(bundle: { dir: string; trace: string }, args: string[] = ["main.sh"]) {
  const result = spawnSync("bash", [join(bundle.dir, runnerFile), ...args], {
    env: { PATH: process.env.PATH, TRACE: bundle.trace },
    encoding: "utf8",
  });
  let trace: string[] = [];
  try {
    trace = readFileSync(bundle.trace, "utf8").trim().split("\n");
  } catch {
    // Nothing ran.
  }
  return { code: result.status, trace, stderr: result.stderr };
}

describe("the generated runner", () => {
  it("runs the setups in order, then the script with its arguments, then the cleanups in reverse", () => {
    const bundle = writeBundle([
      environment("a", { setup: 0, cleanup: 0 }),
      environment("b", { setup: 0, cleanup: 0 }),
      main(),
    ]);
    const result = runBundle(bundle, ["main.sh", "one", "two words"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.trace, ["a-setup", "b-setup", "main one two words", "b-cleanup", "a-cleanup"]);
  });

  it("runs every cleanup when the script fails and exits with the script's code", () => {
    const bundle = writeBundle([
      environment("a", { setup: 0, cleanup: 0 }),
      environment("b", { cleanup: 0 }),
      main(7),
    ]);
    const result = runBundle(bundle);
    assert.equal(result.code, 7);
    assert.deepEqual(result.trace, ["a-setup", "main", "b-cleanup", "a-cleanup"]);
  });

  it("skips the script and later setups when a setup fails, cleaning up only what had started", () => {
    const bundle = writeBundle([
      environment("a", { setup: 0, cleanup: 0 }),
      environment("b", { setup: 4, cleanup: 0 }),
      environment("c", { setup: 0, cleanup: 0 }),
      main(),
    ]);
    const result = runBundle(bundle);
    assert.equal(result.code, 4);
    assert.deepEqual(result.trace, ["a-setup", "b-setup", "b-cleanup", "a-cleanup"]);
    assert.match(result.stderr, /setup b-setup\.sh failed \(exit 4\): main\.sh does not run/);
  });

  it("exits with a failed cleanup's code when the script succeeded, and still runs the other cleanups", () => {
    const bundle = writeBundle([environment("a", { cleanup: 0 }), environment("b", { cleanup: 5 }), main()]);
    const result = runBundle(bundle);
    assert.equal(result.code, 5);
    assert.deepEqual(result.trace, ["main", "b-cleanup", "a-cleanup"]);
  });

  it("keeps the script's exit code when a cleanup fails after the script failed", () => {
    const bundle = writeBundle([environment("a", { cleanup: 5 }), main(3)]);
    assert.equal(runBundle(bundle).code, 3);
  });

  it("fails with exit code 2 when asked for a file the bundle does not have", () => {
    const bundle = writeBundle([environment("a", { setup: 0, cleanup: 0 }), main()]);
    const result = runBundle(bundle, ["missing.sh"]);
    assert.equal(result.code, 2);
    assert.deepEqual(result.trace, []);
  });

  it("passes SIGTERM on to the script, then cleans up and exits with the script's code", async () => {
    const bundle = writeBundle([
      environment("a", { setup: 0, cleanup: 0 }),
      {
        name: "main",
        scripts: {
          "main.sh": `trap 'echo "main terminated" >> "$TRACE"; exit 143' TERM\necho "main started" >> "$TRACE"\nwhile :; do sleep 0.1; done\n`,
        },
      },
    ]);
    const child = spawn("bash", [join(bundle.dir, runnerFile), "main.sh"], {
      env: { PATH: process.env.PATH, TRACE: bundle.trace },
      stdio: "ignore",
    });
    const deadline = Date.now() + 10_000;
    while (!readTrace(bundle.trace).includes("main started")) {
      assert.ok(Date.now() < deadline, "the script did not start");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 143);
    assert.deepEqual(readTrace(bundle.trace), ["a-setup", "main started", "main terminated", "a-cleanup"]);
  });

  it("passes shellcheck", { skip: shellcheckMissing ? "needs shellcheck, not installed" : false }, () => {
    const file = join(root, "shellcheck-run.sh");
    writeFileSync(
      file,
      renderRunner({ bundle: "check", setups: ["s.sh", ""], cleanups: ["", "c.sh"], tools: true }),
    );
    const result = spawnSync("shellcheck", [file], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout);
  });
});

function readTrace(file: string): string[] {
  try {
    return readFileSync(file, "utf8").trim().split("\n");
  } catch {
    return [];
  }
}
