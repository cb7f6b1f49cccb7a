import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, parseAllDocuments, stringify } from "yaml";
import { type SynthAndValidateOptions, type SynthReport, synthAndValidate } from "./report";
import { secretPlaceholder } from "./stack-config";
import type { ProjectSynth } from "./synth";

const repoRoot = resolve(__dirname, "..", "..", "..");
const pulumiDir = join(repoRoot, "pulumi");
const fixtures = resolve(__dirname, "..", "test-fixtures");
const exampleDataDir = resolve(__dirname, "..", "example-data");
const tempRoot = mkdtempSync(join(tmpdir(), "synth-test-"));

interface Synthesized {
  report: SynthReport;
  /** `<out>/<stack>`. */
  stackDir(stack: string): string;
  project(stack: string, name: string): ProjectSynth;
}

let runs = 0;
/** Runs synth in-process on a scenario dir, the way the CLI does (validation off). */
async function synthScenario(
  projectsDir: string,
  options: Partial<SynthAndValidateOptions> = {},
): Promise<Synthesized> {
  const outDir = join(tempRoot, `out-${++runs}`);
  const report = await synthAndValidate({
    projectsDir,
    workspaceRoots: [projectsDir, pulumiDir],
    outDir,
    validate: false,
    ...options,
  });
  return {
    report,
    stackDir: (stack) => join(outDir, stack),
    project(stack, name) {
      const found = report.results
        .find((result) => result.stack === stack)
        ?.projects.find((p) => p.project === name);
      assert.ok(found, `project ${name} was not synthesized on stack ${stack}`);
      return found;
    },
  };
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

function manifests(path: string): Record<string, any>[] {
  const documents = parseAllDocuments(readFileSync(path, "utf8"));
  for (const document of documents) assert.deepEqual(document.errors, [], `${path} is not valid YAML`);
  return documents.map((document) => document.toJS() as Record<string, any>);
}

function manifest(path: string, kind: string, name: string): Record<string, any> {
  const found = manifests(path).find((object) => object.kind === kind && object.metadata?.name === name);
  assert.ok(found, `${path} has no ${kind} ${name}`);
  return found;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Every written file that contains `text`. */
function filesContaining(dir: string, text: string): string[] {
  return listFiles(dir).filter((file) => readFileSync(file, "utf8").includes(text));
}

/**
 * A scenario dir holding a copy of the real `shared` project with the given files replaced or
 * added. Its modules resolve through the workspace's node_modules, as they do in the repo.
 */
/**
 * A scenario dir with a copy of the real `shared` project, `files` written into it, and a copy of
 * the repository's servers/ beside it (which the program finds above its directory), each
 * description changed by `servers` (by file name, parsed).
 */
function copyOfShared(
  files: Record<string, string>,
  servers: (descriptions: Record<string, any>) => void = () => {},
): string {
  const dir = mkdtempSync(join(tempRoot, "shared-"));
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  cpSync(join(pulumiDir, "projects", "shared"), join(dir, "shared"), {
    recursive: true,
    filter: (source) => !source.includes("node_modules"),
  });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const descriptions: Record<string, any> = {};
  const serversDir = join(repoRoot, "servers");
  for (const file of readdirSync(serversDir).filter((name) => name.endsWith(".json"))) {
    descriptions[file] = JSON.parse(readFileSync(join(serversDir, file), "utf8"));
  }
  servers(descriptions);
  mkdirSync(join(dir, "servers"));
  for (const [file, value] of Object.entries(descriptions)) {
    writeFileSync(join(dir, "servers", file), JSON.stringify(value, null, 2));
  }
  return dir;
}

/** The real `Pulumi.<stack>.yaml` of `shared`, changed by `change`. */
function sharedStackFile(stack: string, change: (config: Record<string, any>) => void): string {
  const document = parse(readFileSync(join(pulumiDir, "projects", "shared", `Pulumi.${stack}.yaml`), "utf8"));
  change(document.config);
  return stringify(document);
}

interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a child process; never rejects, so it can be started before it is awaited. */
function runCli(args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    const out = join(tempRoot, `cli-${++runs}`);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "cli.ts"), "--no-validate", "-q", "--out", out, ...args],
      { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1" } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", (error) =>
      done({ code: null, signal: null, stdout, stderr: `${stderr}${error.message}` }),
    );
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** The CLI failed the way it should: exit code 1, no signal, no stack trace of a crash. */
function assertCleanFailure(result: CliResult): void {
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /Unhandled|^\s+at /m, "the CLI crashed instead of reporting");
}

// A scenario dir with `shared` broken on two stacks: a bad clusterCidr in cloud-a's description, a
// misspelled key in cloud-b's stack file.
let badConfigDir: string;
// CLI runs cost ~1.5 s each: they all start here and run in parallel with the in-process tests.
const cli: Record<
  "missingOutput" | "cycle" | "badConfig" | "unknownProject" | "failingBase",
  Promise<CliResult>
> = {} as never;

before(() => {
  badConfigDir = copyOfShared(
    {
      "shared/Pulumi.cloud-b.yaml": sharedStackFile("cloud-b", (config) => {
        config["backup:shedule"] = config["backup:schedule"];
        delete config["backup:schedule"];
      }),
    },
    (descriptions) => {
      descriptions["cloud-a.json"].network.clusterCidr = "10.42.0.1/16";
    },
  );
  cli.missingOutput = runCli(["--projects-dir", join(fixtures, "missing-output")]);
  cli.cycle = runCli(["--projects-dir", join(fixtures, "cycle")]);
  cli.badConfig = runCli(["--projects-dir", badConfigDir, "--stack", "cloud-a", "--stack", "cloud-b"]);
  cli.unknownProject = runCli(["--projects-dir", join(fixtures, "order"), "--project", "nope"]);
  cli.failingBase = runCli(["--projects-dir", join(fixtures, "failing-base")]);
});

after(async () => {
  // Let every CLI run finish before its output dir is removed.
  await Promise.all(Object.values(cli));
  rmSync(tempRoot, { recursive: true, force: true });
});

describe("order and wiring (fixtures: zeta ← mid ← alpha)", () => {
  let synth: Synthesized;
  const events: string[] = [];

  before(async () => {
    synth = await synthScenario(join(fixtures, "order"), {
      onProgress: ({ project, phase }) => events.push(`${project} ${phase}`),
    });
    assert.deepEqual(synth.report.problems, []);
  });

  it("runs projects in the order their StackReferences require, whatever their alphabetical order", () => {
    assert.deepEqual(
      synth.report.stacks.map((stack) => [stack.stack, stack.projects.map((project) => project.project)]),
      [["lab", ["zeta", "mid", "alpha"]]],
    );
    // alpha comes first alphabetically, is discarded until mid ran, which waits for zeta.
    assert.deepEqual(
      events.filter((event) => !event.endsWith("start")),
      ["alpha deferred", "mid deferred", "zeta done", "mid done", "alpha done"],
    );
    // A discarded run leaves nothing behind: alpha's StackReferences are registered once.
    assert.deepEqual(
      synth.project("lab", "alpha").resources.map((resource) => resource.name),
      ["organization/mid/lab", "organization/zeta/lab"],
    );
  });

  it("lists the projects in order.json in the order they ran, with the projects each references and the outputs it read", () => {
    assert.deepEqual(readJson(join(synth.stackDir("lab"), "order.json")), {
      stack: "lab",
      projects: [
        { project: "zeta", references: [], reads: {} },
        { project: "mid", references: ["zeta"], reads: { zeta: ["greeting", "port"] } },
        { project: "alpha", references: ["mid", "zeta"], reads: { mid: ["message"], zeta: ["token"] } },
      ],
    });
  });

  it("answers a StackReference with the real exports of the project it names on the same stack", () => {
    const dir = synth.stackDir("lab");
    // mid derives a value from zeta's config-driven export, and renders it into a ConfigMap.
    assert.deepEqual(readJson(join(dir, "mid", "outputs.json")), { message: "hello from mid" });
    assert.deepEqual(manifest(join(dir, "mid", "manifests.yaml"), "ConfigMap", "mid").data, {
      message: "hello from mid",
      port: "8080",
    });
    // alpha derives from mid's derived export: the exports travel through two references.
    const alpha = readJson(join(dir, "alpha", "outputs.json"));
    assert.equal(alpha.shout, "HELLO FROM MID");
  });

  it("keeps a secret export secret in the project that reads it", () => {
    const dir = synth.stackDir("lab");
    assert.equal(readJson(join(dir, "zeta", "outputs.json")).token, "[secret]");
    assert.equal(readJson(join(dir, "alpha", "outputs.json")).token, "[secret]");
    assert.deepEqual(synth.project("lab", "alpha").outputs.token, {
      value: "zeta-token-0123456789",
      secret: true,
    });
    // alpha received the value itself (its length, exported in plain).
    assert.equal(readJson(join(dir, "alpha", "outputs.json")).tokenLength, "zeta-token-0123456789".length);
    assert.deepEqual(filesContaining(dir, "zeta-token-0123456789"), []);
  });
});

describe("a reader of every server (fixtures: reader ← names ← base, on east and west)", () => {
  const crossStack = join(fixtures, "cross-stack");
  const orderOf = (synth: Synthesized, stack: string) =>
    synth.report.stacks.find((each) => each.stack === stack)?.projects.map((project) => project.project);

  it("answers another server's StackReference with that stack's real exports, run after its own layers", async () => {
    const synth = await synthScenario(crossStack, { stacks: ["east"] });
    assert.deepEqual(synth.report.problems, []);
    assert.deepEqual(readJson(join(synth.stackDir("east"), "reader", "outputs.json")).names, [
      "vault.east.internal.example.com",
      "photos.west.internal.example.com",
    ]);
    // The other server's projects ran for the reader only: east's output holds east alone.
    assert.deepEqual(orderOf(synth, "east"), ["base", "names", "reader"]);
    assert.equal(existsSync(synth.stackDir("west")), false);
    const reader = readJson(join(synth.stackDir("east"), "order.json")).projects.find(
      (entry: { project: string }) => entry.project === "reader",
    );
    assert.deepEqual(reader.references, ["names", "names@west"]);
  });

  it("gives each stack the same order with the other stacks as alone", async () => {
    const both = await synthScenario(crossStack);
    const alone = await synthScenario(crossStack, { stacks: ["west"] });
    assert.deepEqual(both.report.problems, []);
    assert.deepEqual(orderOf(both, "west"), orderOf(alone, "west"));
    assert.deepEqual(orderOf(both, "east"), ["base", "names", "reader"]);
  });

  it("fails the reader naming the other server's failing project and its error", async () => {
    const copy = join(tempRoot, "cross-stack-broken");
    cpSync(crossStack, copy, { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(copy, "node_modules"), "dir");
    writeFileSync(join(copy, "names", "Pulumi.west.yaml"), "config: {}\n");
    const synth = await synthScenario(copy, { stacks: ["east"] });
    const problems = synth.report.problems.join("\n");
    assert.match(
      problems,
      /Project "reader" on stack "east" reads project "names" on stack "west", which failed: .*Missing required configuration variable 'names:label'/,
    );
  });
});

describe("remembered references (fixtures: zeta ← mid ← alpha)", () => {
  const order = join(fixtures, "order");

  it("run each project once, after those it referenced last time, with the same result", async () => {
    const referencesFile = join(tempRoot, "references-once.json");
    const first = await synthScenario(order, { referencesFile });
    const events: string[] = [];
    const second = await synthScenario(order, {
      referencesFile,
      onProgress: ({ project, phase }) => events.push(`${project} ${phase}`),
    });
    assert.deepEqual(
      events.filter((event) => !event.endsWith("start")),
      ["zeta done", "mid done", "alpha done"],
    );
    assert.deepEqual(
      readJson(join(second.stackDir("lab"), "order.json")),
      readJson(join(first.stackDir("lab"), "order.json")),
    );
    assert.deepEqual(second.report.problems, []);
  });

  it("that no longer hold (here a cycle) change nothing: synth runs the stack as without them", async () => {
    const referencesFile = join(tempRoot, "references-stale.json");
    writeFileSync(referencesFile, JSON.stringify({ [order]: { lab: { mid: ["zeta"], zeta: ["mid"] } } }));
    const synth = await synthScenario(order, { referencesFile });
    assert.deepEqual(synth.report.problems, []);
    assert.deepEqual(
      readJson(join(synth.stackDir("lab"), "order.json")).projects.map(
        (entry: { project: string }) => entry.project,
      ),
      ["zeta", "mid", "alpha"],
    );
  });
});

describe("a missing output (fixtures: base exports no 'absent')", () => {
  let synth: Synthesized;
  before(async () => {
    synth = await synthScenario(join(fixtures, "missing-output"));
  });

  it("fails with project, stack and output named when read through requireStackOutput", () => {
    const problems = synth.report.problems.filter((problem) => problem.startsWith("lab/common-reader: "));
    // Reported once, however many outputs derive from the failed read.
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0] ?? "", /reads output "absent" of project "base" \(organization\/base\/lab\)/);
    assert.match(problems[0] ?? "", /on stack "lab"/);
  });

  it("fails with project, stack and output named when read through StackReference.requireOutput", () => {
    const problems = synth.report.problems.filter((problem) => problem.startsWith("lab/raw-reader: "));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0] ?? "", /'absent' does not exist on stack 'organization\/base\/lab'/);
  });

  it("leaves the process running and the other projects synthesized", () => {
    assert.equal(synth.report.problems.length, 2, synth.report.problems.join("\n"));
    assert.deepEqual(readJson(join(synth.stackDir("lab"), "base", "outputs.json")), { present: "here" });
  });

  it("makes the CLI exit non-zero with the message, without crashing", async () => {
    const result = await cli.missingOutput;
    assertCleanFailure(result);
    assert.match(result.stderr, /lab\/common-reader: .*reads output "absent" of project "base"/);
    assert.match(
      result.stderr,
      /lab\/raw-reader: .*'absent' does not exist on stack 'organization\/base\/lab'/,
    );
    assert.match(result.stderr, /2 problem\(s\)/);
  });
});

describe("a cycle (fixtures: a ⇄ b)", () => {
  it("is an error naming the cycle, reported once", async () => {
    const synth = await synthScenario(join(fixtures, "cycle"));
    assert.deepEqual(synth.report.problems, [
      'lab: Projects reference each other in a cycle on stack "lab": a → b → a',
    ]);
    assert.deepEqual(readJson(join(synth.stackDir("lab"), "order.json")).projects, []);
  });

  it("makes the CLI exit non-zero with the cycle named", async () => {
    const result = await cli.cycle;
    assertCleanFailure(result);
    assert.match(result.stderr, /cycle on stack "lab": a → b → a/);
  });
});

describe("a failing base project (fixtures: base ← left ← top, and solo)", () => {
  let synth: Synthesized;
  before(async () => {
    synth = await synthScenario(join(fixtures, "failing-base"));
  });

  it("reports the base's error once, and lists the projects that need it as skipped", () => {
    assert.deepEqual(synth.report.problems, [
      "lab/base: Missing required configuration variable 'base:server'\n" +
        "\tplease set a value using the command `pulumi config set base:server <value>`",
    ]);
    assert.deepEqual(synth.report.stacks[0]?.skipped, [
      "left (needs base, which failed)",
      "top (needs base, which failed)",
    ]);
  });

  it("still synthesizes the projects that do not need it", () => {
    assert.deepEqual(readJson(join(synth.stackDir("lab"), "solo", "outputs.json")), { name: "solo" });
  });

  it("makes the CLI exit non-zero with one problem, printing the skipped projects", async () => {
    const result = await cli.failingBase;
    assertCleanFailure(result);
    assert.match(result.stdout, /^ {2}skipped: left \(needs base, which failed\)$/m);
    assert.match(result.stdout, /^ {2}skipped: top \(needs base, which failed\)$/m);
    assert.match(result.stderr, /^1 problem\(s\)/m);
  });
});

describe("a YAML syntax error (copies of the order fixtures)", () => {
  /** A copy of the order fixtures with one file replaced. */
  function orderWith(file: string, text: string): string {
    const dir = mkdtempSync(join(tempRoot, "bad-yaml-"));
    cpSync(join(fixtures, "order"), dir, { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(dir, file), text);
    return dir;
  }

  it("in a stack file is reported with the file, line and column, and the projects needing it are skipped", async () => {
    const dir = orderWith(
      join("zeta", "Pulumi.lab.yaml"),
      "config:\n  zeta:greeting: [hello\n  zeta:port: 1\n",
    );
    const synth = await synthScenario(dir);
    assert.deepEqual(synth.report.problems, [
      `lab: ${join(dir, "zeta", "Pulumi.lab.yaml")}:3:3: Flow sequence in block collection must be ` +
        "sufficiently indented and end with a ]:\n\n  zeta:greeting: [hello\n  zeta:port: 1\n  ^\n",
    ]);
    assert.deepEqual(synth.report.stacks[0]?.skipped, [
      "mid (needs zeta, which failed)",
      "alpha (needs zeta, which failed)",
    ]);
  });

  it("in a project file fails synth with the file, line and column", async () => {
    const dir = orderWith(join("mid", "Pulumi.yaml"), "name: mid\nmain: index.ts: x\n");
    await assert.rejects(synthScenario(dir), {
      message:
        `${join(dir, "mid", "Pulumi.yaml")}:2:7: Nested mappings are not allowed in compact mappings:` +
        "\n\nmain: index.ts: x\n      ^\n",
    });
  });
});

describe("secrets (fixtures: vault, leaky)", () => {
  let synth: Synthesized;
  before(async () => {
    synth = await synthScenario(join(fixtures, "secrets"), { projects: ["vault"] });
    assert.deepEqual(synth.report.problems, []);
  });

  it("never writes a secure config value or a generated secret in plain text, yet the program received both", () => {
    const placeholder = secretPlaceholder("lab", "vault:apiKey");
    const vault = synth.project("lab", "vault");
    assert.equal(vault.generatedSecrets.length, 1);
    const password = vault.generatedSecrets[0] ?? "";
    const dir = synth.stackDir("lab");
    assert.deepEqual(filesContaining(dir, placeholder), []);
    assert.deepEqual(filesContaining(dir, password), []);
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    assert.deepEqual(readJson(join(dir, "vault", "outputs.json")), {
      apiKeyHash: sha256(placeholder),
      passwordHash: sha256(password),
      dbPassword: "[secret]",
    });
  });

  it("always writes the data of a Kubernetes Secret as [secret], keeping its keys", () => {
    const dir = synth.stackDir("lab");
    const file = join(dir, "vault", "manifests.yaml");
    assert.deepEqual(manifest(file, "Secret", "credentials").stringData, {
      apiKey: "[secret]",
      password: "[secret]",
      user: "[secret]",
    });
    // Built without the typed class, so Pulumi does not mark its data secret: synth still does,
    // in resources.json too.
    assert.deepEqual(manifest(file, "Secret", "untyped").data, { note: "[secret]" });
    assert.deepEqual(filesContaining(dir, Buffer.from("untyped-secret-note").toString("base64")), []);
    // A plain value in a typed Secret is redacted as well.
    assert.deepEqual(filesContaining(join(dir, "vault"), '"app"'), []);
  });

  it("removes a written file that would leak a secret and reports the leak", async () => {
    const leaky = await synthScenario(join(fixtures, "secrets"), { projects: ["leaky"] });
    const outputs = join(leaky.stackDir("lab"), "leaky", "outputs.json");
    assert.deepEqual(leaky.report.problems, [`lab: ${outputs} contains a secret value in plain text`]);
    assert.equal(existsSync(outputs), false);
    assert.deepEqual(filesContaining(leaky.stackDir("lab"), secretPlaceholder("lab", "leaky:apiKey")), []);
  });
});

describe("bad config of the real shared project", () => {
  let synth: Synthesized;
  before(async () => {
    synth = await synthScenario(badConfigDir, { stacks: ["cloud-a", "cloud-b"] });
  });

  it("reports a bad range of a server's description once, naming the file, the key and the real problem", () => {
    const problems = synth.report.problems.filter((problem) => problem.includes("cloud-a.json"));
    assert.deepEqual(problems, [
      `${join(badConfigDir, "servers", "cloud-a.json")}: network.clusterCidr: expected an IPv4 network in CIDR form ` +
        "such as 10.42.0.0/16 (the address must be the network address): 10.42.0.1 is not the first address " +
        "of a /16 (that is 10.42.0.0)",
    ]);
  });

  it("skips the stack the description breaks instead of failing each of its projects on it", () => {
    assert.equal(synth.report.problems.filter((problem) => problem.startsWith("cloud-a/")).length, 0);
    assert.deepEqual(synth.report.stacks.find((stack) => stack.stack === "cloud-a")?.skipped, [
      "every project (the server descriptions have problems (above))",
    ]);
  });

  it("fails on a misspelled key of a stack file, suggesting the key meant", () => {
    const problems = synth.report.problems.filter((problem) => problem.startsWith("cloud-b/shared: "));
    assert.deepEqual(problems, [
      'cloud-b/shared: Pulumi.cloud-b.yaml of project "shared": backup:shedule is not a setting; did you mean backup:schedule?',
    ]);
  });

  it("makes the CLI exit non-zero with both messages", async () => {
    const result = await cli.badConfig;
    assertCleanFailure(result);
    assert.match(
      result.stderr,
      /cloud-a\.json: network\.clusterCidr: .*10\.42\.0\.1 is not the first address/,
    );
    assert.match(
      result.stderr,
      /cloud-b\/shared: .*backup:shedule is not a setting; did you mean backup:schedule\?/,
    );
  });
});

describe("the output contract of the real projects (pulumi/projects, stack cloud-a)", () => {
  let synth: Synthesized;
  let dir: string;
  let projects: string[];
  before(async () => {
    synth = await synthScenario(join(pulumiDir, "projects"), { stacks: ["cloud-a"] });
    assert.deepEqual(synth.report.problems, []);
    dir = synth.stackDir("cloud-a");
    projects = readJson(join(dir, "order.json")).projects.map((entry: { project: string }) => entry.project);
  });

  it("writes manifests.yaml, resources.json and outputs.json for every project, in the contract's shape", () => {
    assert.equal(projects[0], "shared");
    assert.ok(projects.includes("cilium"));
    const projectDirs = readdirSync(dir).filter((entry) => statSync(join(dir, entry)).isDirectory());
    assert.deepEqual([...projectDirs].sort(), [...projects].sort());
    let documents = 0;
    let registered = 0;
    for (const project of projects) {
      for (const object of manifests(join(dir, project, "manifests.yaml"))) {
        documents++;
        assert.equal(typeof object.apiVersion, "string", `${project}: ${JSON.stringify(object)}`);
        assert.equal(typeof object.kind, "string", `${project}: ${JSON.stringify(object)}`);
        assert.equal(typeof object.metadata?.name, "string", `${project}: ${JSON.stringify(object)}`);
      }
      const resources = readJson(join(dir, project, "resources.json"));
      assert.ok(Array.isArray(resources), project);
      registered += resources.length;
      for (const resource of resources) {
        assert.equal(typeof resource.type, "string");
        assert.equal(typeof resource.name, "string");
        assert.ok(resource.parent === null || typeof resource.parent === "string", resource.name);
        assert.ok(Array.isArray(resource.dependsOn), resource.name);
        assert.equal(typeof resource.inputs, "object", resource.name);
      }
      assert.equal(typeof readJson(join(dir, project, "outputs.json")), "object");
    }
    assert.ok(documents > 0, "no Kubernetes object was written");
    assert.ok(registered > documents, "no resource was recorded");
  });

  it("records every Helm release with chart, repository, version, namespace and values", () => {
    const releases = projects.flatMap((project) =>
      readJson(join(dir, project, "resources.json")).filter(
        (resource: { type: string }) => resource.type === "kubernetes:helm.sh/v3:Release",
      ),
    );
    assert.ok(releases.some((release: { name: string }) => release.name === "kube-system/cilium"));
    for (const { name, inputs } of releases) {
      assert.equal(typeof inputs.chart, "string", name);
      assert.match(inputs.repositoryOpts?.repo ?? "", /^(https|oci):\/\//, name);
      assert.match(inputs.version ?? "", /^v?\d+\.\d+\.\d+/, name);
      assert.equal(typeof inputs.namespace, "string", `${name} has no namespace`);
      assert.equal(typeof inputs.values, "object", name);
    }
    const cilium = releases.find((release: { name: string }) => release.name === "kube-system/cilium");
    assert.equal(cilium.inputs.namespace, "kube-system");
  });

  it("sends every Kubernetes resource through the server's explicit provider", () => {
    let checked = 0;
    for (const project of projects) {
      const resources = readJson(join(dir, project, "resources.json"));
      const providers = new Map<string, Record<string, unknown>>(
        resources
          .filter((resource: { type: string }) => resource.type === "pulumi:providers:kubernetes")
          .map((resource: { urn: string; inputs: Record<string, unknown> }) => [
            resource.urn,
            resource.inputs,
          ]),
      );
      for (const resource of resources) {
        if (!resource.type.startsWith("kubernetes:")) continue;
        checked++;
        const urn = String(resource.provider ?? "").replace(/::[^:]*$/, "");
        assert.ok(
          providers.has(urn),
          `${project}: ${resource.type} ${resource.name} uses ${resource.provider}`,
        );
        assert.doesNotMatch(urn, /::default(_[\d_]+)?$/);
        assert.equal(providers.get(urn)?.context, "cloud-a");
      }
    }
    assert.ok(checked > 0, "no Kubernetes resource was checked");
  });
});

describe("the Terraform local state invoke (a copy of shared)", () => {
  const state = {
    id: "fixture-server",
    ssh_host: "198.18.0.5",
    ssh_port: 2222,
    ssh_user: "ops",
    internal_ip: "10.99.0.5",
    public_ip: "198.18.0.5",
  };
  let synth: Synthesized;
  before(async () => {
    // cloud-a has a state in its Terraform instance beside the copy's servers/; cloud-b has none.
    const scenario = copyOfShared({
      [join("terraform", "instances", "cloud-a", "terraform.tfstate")]: JSON.stringify({
        version: 4,
        outputs: Object.fromEntries(
          Object.entries(state).map(([key, value]) => [key, { value, type: typeof value }]),
        ),
        resources: [],
      }),
    });
    synth = await synthScenario(scenario, { stacks: ["cloud-a", "cloud-b"] });
    assert.deepEqual(synth.report.problems, []);
  });

  it("answers from the server's Terraform state when it exists", () => {
    assert.deepEqual(readJson(join(synth.stackDir("cloud-a"), "shared", "outputs.json")).server, {
      name: "cloud-a",
      kubeContext: "cloud-a",
      internalIp: "10.99.0.5",
      publicIp: "198.18.0.5",
      sshHost: "198.18.0.5",
      sshPort: 2222,
      sshUser: "ops",
    });
    assert.deepEqual(synth.report.stacks.find((stack) => stack.stack === "cloud-a")?.examples, []);
  });

  it("answers from example data otherwise, and the report says so", () => {
    const example = readJson(join(exampleDataDir, "terraform-outputs.json"))["cloud-b"];
    const server = readJson(join(synth.stackDir("cloud-b"), "shared", "outputs.json")).server;
    assert.equal(server.internalIp, example.internal_ip);
    assert.equal(server.sshHost, example.ssh_host);
    const examples = synth.report.stacks.find((stack) => stack.stack === "cloud-b")?.examples ?? [];
    assert.equal(examples.length, 1, examples.join("\n"));
    assert.match(
      examples[0] ?? "",
      /Terraform state .*terraform\/instances\/cloud-b\/terraform\.tfstate \(example outputs used\)/,
    );
  });
});

describe("the command line", () => {
  it("fails on an unknown project with the list of known ones", async () => {
    const result = await cli.unknownProject;
    assertCleanFailure(result);
    assert.match(result.stderr, /Unknown project "nope"; projects: alpha, mid, zeta/);
  });

  // The CLI passes --stack through as is (see the bad config run above) and prints what synth
  // throws the same way as for a project: the API suffices here, and saves a process.
  it("fails on an unknown stack with the list of known ones", async () => {
    await assert.rejects(synthScenario(join(fixtures, "order"), { stacks: ["lab", "nope"] }), {
      message: 'Unknown stack "nope"; stacks: lab',
    });
  });
});
