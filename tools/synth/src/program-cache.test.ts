import assert from "node:assert/strict";
import {
  cpSync,
  mkdtempSync,
  promises,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { recordDependencies } from "./program-cache";
import { synthAndValidate } from "./report";
import type { StackSynth } from "./synth";

const repoRoot = resolve(__dirname, "..", "..", "..");
const pulumiDir = join(repoRoot, "pulumi");
const fixture = resolve(__dirname, "..", "test-fixtures", "program-cache");
const tempRoot = mkdtempSync(join(tmpdir(), "program-cache-test-"));

after(() => rmSync(tempRoot, { recursive: true, force: true }));

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Every file synth wrote, by its path in the output directory. */
function written(outDir: string): Record<string, string> {
  return Object.fromEntries(
    listFiles(outDir)
      .sort()
      .map((file) => [relative(outDir, file), readFileSync(file, "utf8")]),
  );
}

interface Synthesized {
  problems: string[];
  results: StackSynth[];
  files: Record<string, string>;
  /** The projects whose program ran. */
  ran: string[];
  /** The projects whose remembered run stood in for their program. */
  reused: string[];
}

let outputs = 0;
/**
 * A copy of the fixture with its own cache; `synth` runs synth on it the way the CLI does (with
 * the cache unless told otherwise, expecting no problems unless told it fails).
 */
function scenario() {
  const dir = mkdtempSync(join(tempRoot, "projects-"));
  cpSync(fixture, dir, { recursive: true });
  // The programs resolve their packages through the workspace's node_modules, as in the repo.
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  const programCacheDir = join(dir, "..", `${relative(tempRoot, dir)}-cache`);
  return {
    write(file: string, text: string) {
      writeFileSync(join(dir, file), text);
    },
    async synth(cache = true, failing = false): Promise<Synthesized> {
      const outDir = join(tempRoot, `out-${++outputs}`);
      const ran: string[] = [];
      const reused: string[] = [];
      const report = await synthAndValidate({
        projectsDir: dir,
        workspaceRoots: [dir, pulumiDir],
        outDir,
        validate: false,
        referencesFile: `${programCacheDir}.references.json`,
        ...(cache ? { programCacheDir } : {}),
        onProgress: ({ project, phase }) => {
          if (phase === "start") ran.push(project);
          if (phase === "reused") reused.push(project);
        },
      });
      if (!failing) assert.deepEqual(report.problems, []);
      return {
        problems: report.problems,
        results: report.results,
        files: written(outDir),
        ran: ran.filter((project) => !reused.includes(project)),
        reused,
      };
    },
  };
}

/** Synth with the cache yields exactly what synth without it does: the same runs, the same files. */
async function assertSameAsWithout(cached: Synthesized, withoutCache: () => Promise<Synthesized>) {
  const cold = await withoutCache();
  assert.deepEqual(cold.reused, []);
  assert.deepStrictEqual(cached.results, cold.results);
  assert.deepStrictEqual(cached.files, cold.files);
}

describe("the program cache (fixtures: base ← app, reader)", () => {
  it("reuses every program's run on a second synth, which writes the same files", async () => {
    const projects = scenario();
    const first = await projects.synth();
    assert.deepEqual(first.reused, []);
    const second = await projects.synth();
    assert.deepEqual(second.ran, []);
    assert.deepEqual(second.reused.sort(), ["app", "base", "reader"]);
    // The runs come back as they were made: secrets still wrapped, reads and references intact.
    assert.deepStrictEqual(second.results, first.results);
    assert.deepStrictEqual(second.files, first.files);
    await assertSameAsWithout(second, () => projects.synth(false));
  });

  it("runs a program again when its stack file changes, and only that one", async () => {
    const projects = scenario();
    await projects.synth();
    projects.write("app/Pulumi.lab.yaml", "config:\n  app:title: Hello\n");
    const changed = await projects.synth();
    assert.deepEqual(changed.ran, ["app"]);
    assert.match(changed.files["lab/app/outputs.json"] ?? "", /Hello: hello/);
    await assertSameAsWithout(changed, () => projects.synth(false));
  });

  it("runs a program again when a source file it imports changes", async () => {
    const projects = scenario();
    await projects.synth();
    projects.write(
      "app/render.ts",
      "export function render(title: string, greeting: string): string {\n  return [title, greeting].join(' - ');\n}\n",
    );
    const changed = await projects.synth();
    assert.deepEqual(changed.ran, ["app"]);
    assert.match(changed.files["lab/app/outputs.json"] ?? "", /Welcome - hello/);
    await assertSameAsWithout(changed, () => projects.synth(false));
  });

  it("runs a program again when a file it read through fs changes", async () => {
    const projects = scenario();
    await projects.synth();
    projects.write("reader/data/sizes.json", '{ "small": "2Gi" }\n');
    const changed = await projects.synth();
    assert.deepEqual(changed.ran, ["reader"]);
    assert.match(changed.files["lab/reader/manifests.yaml"] ?? "", /small: 2Gi/);
    await assertSameAsWithout(changed, () => projects.synth(false));
  });

  it("runs a program again when a file appears in a directory it listed, or where it asked whether one exists", async () => {
    const projects = scenario();
    await projects.synth();
    projects.write("reader/data/large.json", '{ "large": "9Gi" }\n');
    const listed = await projects.synth();
    assert.deepEqual(listed.ran, ["reader"]);
    await assertSameAsWithout(listed, () => projects.synth(false));
    projects.write("reader/override.json", "{}\n");
    const probed = await projects.synth();
    assert.deepEqual(probed.ran, ["reader"]);
    assert.match(probed.files["lab/reader/manifests.yaml"] ?? "", /override: "true"/);
    await assertSameAsWithout(probed, () => projects.synth(false));
  });

  it("runs a program again when an environment variable it read changes", async () => {
    const projects = scenario();
    await projects.synth();
    process.env.HOMELAB_FIXTURE_NOTE = "changed";
    try {
      const changed = await projects.synth();
      assert.deepEqual(changed.ran, ["reader"]);
      assert.match(changed.files["lab/reader/manifests.yaml"] ?? "", /note: changed/);
      await assertSameAsWithout(changed, () => projects.synth(false));
    } finally {
      delete process.env.HOMELAB_FIXTURE_NOTE;
    }
  });

  it("runs the programs that reference a project again when its exports change", async () => {
    const projects = scenario();
    await projects.synth();
    projects.write("base/Pulumi.lab.yaml", 'config:\n  base:greeting: bonjour\n  base:replicas: "1"\n');
    const changed = await projects.synth();
    assert.deepEqual(changed.ran, ["base", "app"]);
    assert.match(changed.files["lab/app/outputs.json"] ?? "", /Welcome: bonjour/);
    await assertSameAsWithout(changed, () => projects.synth(false));
  });

  it("reuses the programs that reference a project that ran again with the same exports", async () => {
    const projects = scenario();
    await projects.synth();
    projects.write("base/Pulumi.lab.yaml", 'config:\n  base:greeting: hello\n  base:replicas: "2"\n');
    const changed = await projects.synth();
    assert.deepEqual(changed.ran, ["base"]);
    assert.deepEqual(changed.reused.sort(), ["app", "reader"]);
    await assertSameAsWithout(changed, () => projects.synth(false));
  });

  it("keeps no run that failed: its program runs again on the next synth, and fails again", async () => {
    const projects = scenario();
    projects.write("app/render.ts", 'export function render(): string {\n  throw new Error("broken");\n}\n');
    const first = await projects.synth(true, true);
    assert.match(first.problems.join("\n"), /lab\/app: .*broken/);
    const second = await projects.synth(true, true);
    assert.deepEqual(second.ran, ["app"]);
    assert.deepEqual(second.problems, first.problems);
  });
});

describe("recording a run", () => {
  it("records what it read through fs, and of the environment", async () => {
    const file = join(fixture, "reader", "data", "sizes.json");
    const { dependencies } = await recordDependencies(async () => {
      readFileSync(file, "utf8");
      return [process.env.HOMELAB_FIXTURE_UNSET, Object.keys(process.env)];
    });
    assert.deepEqual(
      dependencies?.map((dependency) => dependency.kind),
      ["fs", "env", "env-all"],
    );
  });

  it("gives up on a run that reads files in a way it cannot repeat, or sets an environment variable", async () => {
    const file = join(fixture, "reader", "data", "sizes.json");
    const asynchronous = await recordDependencies(() => promises.readFile(file, "utf8"));
    assert.equal(asynchronous.dependencies, undefined);
    const setting = await recordDependencies(async () => {
      process.env.HOMELAB_FIXTURE_SET = "1";
    });
    delete process.env.HOMELAB_FIXTURE_SET;
    assert.equal(setting.dependencies, undefined);
  });
});
