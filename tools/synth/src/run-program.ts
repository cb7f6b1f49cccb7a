import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { answerInvoke } from "./invokes";
import { noteResolution, noteUnrepeatable, unrecorded } from "./program-cache";
import type { ProjectInfo } from "./projects";
import type { StackConfig } from "./stack-config";

export const organization = "organization";

/** One resource the program registered (or read), as the engine would have received it. */
export interface ResourceRecord {
  urn: string;
  type: string;
  name: string;
  /** The parent's URN. */
  parent?: string;
  /** URNs of everything the resource depends on (explicit `dependsOn` and inputs). */
  dependsOn: string[];
  /** The provider reference (`<provider urn>::<id>`), when one was passed. */
  provider?: string;
  custom: boolean;
  /** Read with `.get()`, not created. */
  read: boolean;
  /** The id a read resource was looked up by (`<namespace>/<name>` or `<name>` for Kubernetes). */
  id?: string;
  /** The inputs, secrets still wrapped (see secrets.ts). */
  inputs: Record<string, unknown>;
}

/** A stack's exported output. */
export interface ExportedOutput {
  value: unknown;
  secret: boolean;
}

/** What one program run produced. */
export interface ProgramRun {
  project: string;
  stack: string;
  resources: ResourceRecord[];
  outputs: Record<string, ExportedOutput>;
  /** Outputs read from other projects: project (`referenceKey`) → output names. */
  reads: Map<string, Set<string>>;
  /**
   * Projects it references whose exports were not available (the run must be repeated after
   * them), each as a `referenceKey`.
   */
  missingProjects: Set<string>;
  /** Every config key it read (`<namespace>:<key>`), whether or not the stack sets it. */
  configReads: Set<string>;
  /**
   * Every project it references (`referenceKey`), whether or not it reads an output (a reference
   * alone orders it).
   */
  references: Set<string>;
  /** Errors the program raised, each a message. */
  errors: string[];
  /** Notes on example data that stood in for real sources. */
  examples: string[];
  /** Secret values the mocks made up (generated passwords, keys). */
  generatedSecrets: string[];
}

/** The exports of the projects already run, by `referenceKey`. */
export type ExportsLookup = (project: string) => Record<string, ExportedOutput> | undefined;

/**
 * How a run names a project it references: the project's name on its own stack, and
 * `<project>@<stack>` on another server's (only the site-wide readers, such as every server's
 * private DNS, read another server's stack).
 */
export function referenceKey(project: string, stack: string, fromStack: string): string {
  return stack === fromStack ? project : `${project}@${stack}`;
}

/** The project and stack a `referenceKey` names, from a run on `fromStack`. */
export function parseReferenceKey(key: string, fromStack: string): { project: string; stack: string } {
  const at = key.indexOf("@");
  return at < 0
    ? { project: key, stack: fromStack }
    : { project: key.slice(0, at), stack: key.slice(at + 1) };
}

interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList?(): string[];
  getProvider(): string;
  getCustom?(): boolean;
  getObject(): unknown;
  getProperties(): unknown;
  getId?(): string;
}

interface PatchableMonitor {
  newUrn(parent: string, type: string, name: string): string;
  registerResource(request: MonitorRequest, callback: unknown): Promise<void>;
  readResource(request: MonitorRequest, callback: unknown): Promise<void>;
}

function deterministicSecret(kind: string, stack: string, name: string): string {
  return createHash("sha256")
    .update(`synth-generated:${kind}:${stack}:${name}`)
    .digest("base64url")
    .slice(0, 32);
}

/** `length` bytes that are the same on every run of the stack: a generated random value's stand-in. */
function deterministicBytes(kind: string, stack: string, name: string, length: number): Buffer {
  const chunks: Buffer[] = [];
  for (let counter = 0; Buffer.concat(chunks).length < length; counter++) {
    chunks.push(createHash("sha256").update(`synth-generated:${kind}:${stack}:${name}:${counter}`).digest());
  }
  return Buffer.concat(chunks).subarray(0, length);
}

// Modules of the workspace (projects and their libraries) are loaded fresh for every run, so
// module-level caches such as a provider or a StackReference never leak between programs.
function dropWorkspaceModules(roots: string[]): void {
  for (const key of Object.keys(require.cache)) {
    if (roots.some((root) => key.startsWith(root)) && !key.includes(`${sep}node_modules${sep}`)) {
      delete require.cache[key];
    }
  }
}

interface CompilingModule extends NodeJS.Module {
  _compile(code: string, filename: string): unknown;
}

// Workspace modules are loaded afresh for every run, yet their source rarely changes between
// runs: what TypeScript compiles to is kept per file and source, where tsx would parse and hash
// each file again on every load.
const compiled = new Map<string, { source: string; code: string }>();
let compilingOnce = false;
function compileTypeScriptOnce(): void {
  const transform = require.extensions[".ts"];
  if (compilingOnce || !transform) return;
  compilingOnce = true;
  require.extensions[".ts"] = (module, filename) => {
    const loading = module as CompilingModule;
    const source = readFileSync(filename, "utf8");
    const known = compiled.get(filename);
    if (known?.source === source) return loading._compile(known.code, filename);
    // tsx hands the compiled code to `_compile`: kept, then run outside the transform, whose own
    // reads (its disk cache) are no input of the program, while the module's are.
    let code: string | undefined;
    loading._compile = (transformed) => {
      code = transformed;
      return undefined;
    };
    try {
      unrecorded(() => transform(module, filename));
    } finally {
      delete (loading as Partial<CompilingModule>)._compile;
    }
    if (code === undefined) throw new Error(`synth: tsx did not compile ${filename} (tsx change?)`);
    compiled.set(filename, { source, code });
    return loading._compile(code, filename);
  };
}

interface ResolvingLoader {
  _resolveFilename(request: string, parent: NodeJS.Module | undefined, ...rest: unknown[]): string;
}

// Each run requires the workspace's modules again, and tsx resolves each import afresh (trying
// every TypeScript extension on disk), with the same answer during a synth: remembered per
// importing file and request, until `forgetResolutions` (each synth starts with it).
const resolutions = new Map<string, string>();
let resolvingOnce = false;
function resolveModulesOnce(): void {
  if (resolvingOnce) return;
  resolvingOnce = true;
  const loader = require("node:module") as ResolvingLoader;
  const resolveFilename = loader._resolveFilename;
  loader._resolveFilename = function (request, parent, ...rest) {
    const from = parent?.filename;
    // Installed packages resolve as yarn.lock pins them.
    if (from?.includes(`${sep}node_modules${sep}`))
      return resolveFilename.call(this, request, parent, ...rest);
    // `require.resolve` with other lookup paths is passed through as it is. (Node passes every
    // `require` its conditions, always the same ones for CommonJS.)
    if (!from || (rest[1] as { paths?: unknown } | undefined)?.paths !== undefined) {
      noteUnrepeatable(`an import of "${request}" synth cannot repeat`);
      return resolveFilename.call(this, request, parent, ...rest);
    }
    const key = `${from}\0${request}`;
    let found = resolutions.get(key);
    if (found === undefined) {
      try {
        // Its probing of the disk is recorded as its answer.
        found = unrecorded(() => resolveFilename.call(this, request, parent, ...rest));
      } catch (error) {
        noteResolution(from, request, undefined);
        throw error;
      }
      resolutions.set(key, found);
    }
    noteResolution(from, request, found);
    return found;
  };
}

/** Where an import of the workspace file `from` resolves to now, as a program's would. */
export function resolveFrom(from: string, request: string): string {
  resolveModulesOnce();
  const loader = require("node:module") as ResolvingLoader & {
    new (id: string): NodeJS.Module;
    _nodeModulePaths(dir: string): string[];
  };
  const parent = new loader(from);
  parent.filename = from;
  parent.paths = loader._nodeModulePaths(dirname(from));
  return loader._resolveFilename(request, parent, false);
}

/** Forgets where the workspace's imports resolved to: files may have come or gone since. */
export function forgetResolutions(): void {
  resolutions.clear();
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

async function resolveExports(exported: Record<string, unknown>): Promise<Record<string, ExportedOutput>> {
  const outputs: Record<string, ExportedOutput> = {};
  for (const [key, value] of Object.entries(exported)) {
    if (key === "__esModule" || typeof value === "function") continue;
    const output = pulumi.output(value) as pulumi.Output<unknown> & { promise(): Promise<unknown> };
    const resolved = await output.promise();
    if (resolved === undefined) continue;
    outputs[key] = { value: resolved, secret: await pulumi.isSecret(output) };
  }
  return outputs;
}

// Records which outputs a program reads through StackReferences, whatever getter it uses.
let currentRun: ProgramRun | undefined;
let stackReferenceTracked = false;
function trackStackReferenceReads(): void {
  if (stackReferenceTracked) return;
  stackReferenceTracked = true;
  const prototype = pulumi.StackReference.prototype as unknown as Record<string, unknown>;
  for (const method of [
    "getOutput",
    "requireOutput",
    "getOutputDetails",
    "getOutputValue",
    "requireOutputValue",
  ]) {
    const original = prototype[method] as (
      this: pulumi.StackReference,
      name: pulumi.Input<string>,
    ) => unknown;
    prototype[method] = function (this: pulumi.StackReference, name: pulumi.Input<string>) {
      const run = currentRun;
      if (run && typeof name === "string") {
        // A StackReference's resource name is `<org>/<project>/<stack>`.
        const [, project, stack] = String((this as unknown as { __name?: string }).__name ?? "").split("/");
        const referenced = project && stack ? referenceKey(project, stack, run.stack) : undefined;
        if (referenced) {
          const reads = run.reads.get(referenced) ?? new Set<string>();
          reads.add(name);
          run.reads.set(referenced, reads);
        }
      }
      return original.call(this, name);
    };
  }
}

// Records which config keys a program reads: every getter of pulumi.Config goes through `getImpl`.
let configTracked = false;
function trackConfigReads(): void {
  if (configTracked) return;
  configTracked = true;
  const prototype = pulumi.Config.prototype as unknown as {
    getImpl(this: pulumi.Config, key: string, ...rest: unknown[]): string | undefined;
  };
  const original = prototype.getImpl;
  prototype.getImpl = function (this: pulumi.Config, key: string, ...rest: unknown[]) {
    currentRun?.configReads.add(`${this.name}:${key}`);
    return original.call(this, key, ...rest);
  };
}

/**
 * Runs one project's program for one stack under Pulumi's mock runtime, with the stack's real
 * config, and records every resource, output and error. StackReferences are answered with the
 * real exports of the projects already run (see `exportsOf`).
 */
export function runProgram(
  project: ProjectInfo,
  stack: string,
  config: StackConfig,
  exportsOf: ExportsLookup,
  workspaceRoots: string[],
): Promise<ProgramRun> {
  return runUnderMocks({
    project: project.name,
    dir: project.dir,
    stack,
    config,
    exportsOf,
    load: () => {
      compileTypeScriptOnce();
      resolveModulesOnce();
      dropWorkspaceModules(workspaceRoots);
      return require(resolve(project.main));
    },
  });
}

/** What `runUnderMocks` needs: a program (as a loader) and its environment. */
export interface MockRunOptions {
  project: string;
  /** The working directory of the program. */
  dir: string;
  stack: string;
  config: StackConfig;
  exportsOf: ExportsLookup;
  /** Loads (runs) the program and returns its exports, or a function returning them. */
  load: () => unknown;
}

/** Runs a program under the mock runtime and records what it registers, exports and fails with. */
export async function runUnderMocks(options: MockRunOptions): Promise<ProgramRun> {
  const { stack, config, exportsOf } = options;
  const project = { name: options.project, dir: options.dir };
  const run: ProgramRun = {
    project: project.name,
    stack,
    resources: [],
    outputs: {},
    reads: new Map(),
    missingProjects: new Set(),
    configReads: new Set(),
    references: new Set(),
    errors: [],
    examples: [],
    generatedSecrets: [],
  };
  let registering: ResourceRecord | undefined;
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      if (registering) registering.inputs = args.inputs as Record<string, unknown>;
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type === "pulumi:pulumi:StackReference") {
        answerStackReference(String(args.inputs.name), state);
      } else if (args.type === "random:index/randomPassword:RandomPassword") {
        const value = deterministicSecret("password", stack, args.name);
        run.generatedSecrets.push(value);
        state.result = pulumi.secret(value);
      } else if (args.type === "random:index/randomBytes:RandomBytes") {
        // Secret outputs, as the provider marks them.
        const bytes = deterministicBytes("bytes", stack, args.name, Number(args.inputs.length));
        run.generatedSecrets.push(bytes.toString("hex"), bytes.toString("base64"));
        state.hex = pulumi.secret(bytes.toString("hex"));
        state.base64 = pulumi.secret(bytes.toString("base64"));
      } else if (args.type === "random:index/randomId:RandomId") {
        // Plain outputs: an id is no secret.
        const bytes = deterministicBytes("id", stack, args.name, Number(args.inputs.byteLength));
        state.hex = bytes.toString("hex");
        state.b64Url = bytes.toString("base64url");
        state.b64Std = bytes.toString("base64");
        state.dec = BigInt(`0x${bytes.toString("hex")}`).toString();
      } else if (args.type === "tailscale:index/tailnetKey:TailnetKey") {
        const value = `tskey-auth-${deterministicSecret("tailnet-key", stack, args.name)}`;
        run.generatedSecrets.push(value);
        state.key = pulumi.secret(value);
      } else if (args.type === "pulumi-nodejs:dynamic/headscale:PreAuthKey") {
        // Headscale's API answers a pre-auth key (@infra/headscale's dynamic provider).
        const value = `hskey-auth-${deterministicSecret("headscale-key", stack, args.name)}`;
        run.generatedSecrets.push(value);
        state.key = pulumi.secret(value);
      } else if (args.id && args.type.startsWith("kubernetes:")) {
        // A Kubernetes object read with `.get(name, id)`: the engine returns the live object, and
        // programs use its identity (a Helm release's namespace is `namespace.metadata.name`).
        // The ID is `<namespace>/<name>`, or `<name>` for a cluster-scoped object.
        const [namespace, name] = args.id.includes("/") ? args.id.split("/", 2) : [undefined, args.id];
        const metadata = (state.metadata ?? {}) as Record<string, unknown>;
        state.metadata = { ...metadata, name, ...(namespace ? { namespace } : {}) };
      }
      return { id: args.id || `${args.name}-id`, state };
    },
    call(args) {
      const answer = answerInvoke(args.token, args.inputs as Record<string, unknown>, {
        stack,
        cwd: project.dir,
      });
      if (answer.example && !run.examples.includes(answer.example)) run.examples.push(answer.example);
      run.generatedSecrets.push(...(answer.secrets ?? []));
      return answer.result;
    },
  };

  function answerStackReference(name: string, state: Record<string, unknown>): void {
    const [org, referencedProject, referencedStack] = name.split("/");
    if (org !== organization || !referencedProject || !referencedStack) {
      throw new Error(
        `Project "${project.name}" on stack "${stack}" references "${name}"; a project may only reference ` +
          `"${organization}/<project>/<stack>"`,
      );
    }
    const referenced = referenceKey(referencedProject, referencedStack, stack);
    run.references.add(referenced);
    const exports = exportsOf(referenced);
    if (!exports) {
      run.missingProjects.add(referenced);
      state.outputs = {};
      state.secretOutputNames = [];
      return;
    }
    state.outputs = Object.fromEntries(Object.entries(exports).map(([key, output]) => [key, output.value]));
    state.secretOutputNames = Object.entries(exports)
      .filter(([, output]) => output.secret)
      .map(([key]) => key);
  }

  await pulumi.runtime.setMocks(mocks, project.name, stack, false, organization);
  pulumi.runtime.setAllConfig(config.values, config.secretKeys);
  const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor;
  // The mocks see a resource's inputs but not its parent, dependencies or provider: record
  // every request as the engine would receive it. The mock monitor hands the inputs it decoded
  // to `newResource` before its first await, so they are attached to the record made here.
  const record = (request: MonitorRequest, readId?: string) => {
    const parent = request.getParent();
    const provider = request.getProvider();
    const resource: ResourceRecord = {
      urn: monitor.newUrn(parent, request.getType(), request.getName()),
      type: request.getType(),
      name: request.getName(),
      ...(parent ? { parent } : {}),
      dependsOn: request.getDependenciesList?.() ?? [],
      ...(provider ? { provider } : {}),
      custom: request.getCustom?.() ?? true,
      read: readId !== undefined,
      ...(readId === undefined ? {} : { id: readId }),
      inputs: {},
    };
    placeholderInputs.add(resource.inputs);
    run.resources.push(resource);
    registering = resource;
    return resource;
  };
  const placeholderInputs = new WeakSet<object>();
  const checkInputsArrived = (resource: ResourceRecord) => {
    registering = undefined;
    if (placeholderInputs.has(resource.inputs)) {
      addError(
        `synth: the inputs of ${resource.type} ${resource.name} never reached the mocks (Pulumi SDK change?)`,
      );
    }
  };
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    const resource = record(request);
    const pending = registerResource(request, callback);
    checkInputsArrived(resource);
    return pending;
  };
  const readResource = monitor.readResource.bind(monitor);
  monitor.readResource = (request, callback) => {
    const resource = record(request, request.getId?.() ?? request.getName());
    const pending = readResource(request, callback);
    checkInputsArrived(resource);
    return pending;
  };

  trackStackReferenceReads();
  trackConfigReads();
  // Each resource's constructor captures a whole stack trace (raising Error.stackTraceLimit) for
  // the engine's source positions, which the mock monitor drops: a tenth of a program's run.
  (pulumi.Resource as unknown as { stackTrace(skip: number): unknown[] }).stackTrace = () => [];
  // One failure reaches many derived outputs, each rejecting on its own: report it once.
  const addError = (error: unknown) => {
    const message = errorMessage(error);
    if (!run.errors.includes(message)) run.errors.push(message);
  };
  // While the program runs, its unhandled rejections are its errors (as under Pulumi's language
  // host), and only synth's: another listener, such as a test runner's, would take them for its
  // own failure and move on while the program is still running.
  const otherListeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", addError);
  const previousDir = process.cwd();
  currentRun = run;
  try {
    // Pulumi runs a program with its project directory as the working directory.
    process.chdir(project.dir);
    const loaded = options.load();
    const program = loaded as { default?: unknown };
    const entry =
      typeof loaded === "function"
        ? loaded
        : typeof program.default === "function"
          ? program.default
          : undefined;
    const exported = entry ? await (entry as () => Promise<unknown>)() : loaded;
    run.outputs = await resolveExports((exported ?? {}) as Record<string, unknown>);
  } catch (error) {
    addError(error);
  } finally {
    try {
      await pulumi.runtime.disconnect();
    } catch (error) {
      addError(error);
    }
    // Rejections of the last outputs surface on the next turns of the event loop.
    await new Promise((done) => setImmediate(done));
    await new Promise((done) => setImmediate(done));
    process.off("unhandledRejection", addError);
    for (const listener of otherListeners) process.on("unhandledRejection", listener);
    process.chdir(previousDir);
    currentRun = undefined;
  }
  if (run.missingProjects.size > 0) run.errors = [];
  return run;
}
