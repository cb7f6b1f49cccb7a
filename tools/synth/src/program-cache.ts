import { createHash, type Hash } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { deserialize, serialize } from "node:v8";
import type { ProjectInfo } from "./projects";
import type { ExportsLookup, ProgramRun } from "./run-program";
import type { StackConfig } from "./stack-config";

// The module object itself (not an import's copy of it): its functions are replaced while a run
// is recorded, so that the program's reads, whichever module makes them, are seen.
const fs = require("node:fs") as typeof import("node:fs");
const { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } =
  fs;

/** Bumped when an entry's layout changes: older entries are then never read. */
const format = 1;

type FsCall = "readFileSync" | "existsSync" | "readdirSync" | "statSync" | "lstatSync";

/** One thing a run depended on, with a digest of what it was when the run saw it. */
type Dependency =
  | { kind: "exports"; project: string; digest: string }
  | { kind: "fs"; call: FsCall; path: string; options: Record<string, unknown>; digest: string }
  | { kind: "env"; name: string; digest: string }
  | { kind: "env-all"; digest: string }
  | { kind: "resolve"; from: string; request: string; digest: string };

interface Entry {
  format: number;
  key: string;
  dependencies: Dependency[];
  run: ProgramRun;
}

/** What identifies a program run before it starts. */
export interface ProgramKey {
  projectsDir: string;
  stack: string;
  project: ProjectInfo;
  config: StackConfig;
  workspaceRoots: string[];
}

/** Finds where a workspace file's import resolves to now (the resolution synth's runs use). */
export type Resolver = (from: string, request: string) => string;

// --- Digests -------------------------------------------------------------------------------

// A value's digest covers its type as well as its text: "1", 1, 1n, -0 and undefined differ.
function feed(hash: Hash, value: unknown): void {
  if (value === undefined || value === null) hash.update(value === null ? "N" : "U");
  else if (typeof value === "string") hash.update(`s${value.length}:`).update(value);
  else if (typeof value === "number") hash.update(`n${Object.is(value, -0) ? "-0" : value};`);
  else if (typeof value === "bigint") hash.update(`i${value};`);
  else if (typeof value === "boolean") hash.update(value ? "T" : "F");
  else if (Buffer.isBuffer(value)) hash.update(`b${value.length}:`).update(value);
  else if (Array.isArray(value)) {
    hash.update(`a${value.length}[`);
    for (const item of value) feed(hash, item);
    hash.update("]");
  } else if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value);
    hash.update(`o${entries.length}{`);
    for (const [key, item] of entries) {
      feed(hash, key);
      feed(hash, item);
    }
    hash.update("}");
  } else {
    // A class instance or function has state no digest can see: never taken as unchanged.
    throw new Error(`no digest for a ${typeof value} ${Object.prototype.toString.call(value)}`);
  }
}

function digest(value: unknown): string {
  const hash = createHash("sha256");
  feed(hash, value);
  return hash.digest("base64url");
}

// What a file-system call returned, as plain data: a Stats' fields (but the access time, which
// reading changes), a Dirent's name, place and type.
function outcome(call: FsCall, result: unknown, error: unknown): unknown {
  if (error !== undefined) return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
  if ((call === "statSync" || call === "lstatSync") && result !== undefined) {
    return Object.entries(result as Stats).filter(([field]) => !field.startsWith("atime"));
  }
  if (call === "readdirSync") {
    return (result as (string | Buffer | Dirent)[]).map((entry) =>
      typeof entry === "string" || Buffer.isBuffer(entry)
        ? entry
        : [entry.name, entry.parentPath, entry.isFile(), entry.isDirectory(), entry.isSymbolicLink()],
    );
  }
  return result;
}

// The options that change what a call returns, so the same call can be made again to compare.
function callOptions(call: FsCall, options: unknown): Record<string, unknown> {
  const given = (typeof options === "string" ? { encoding: options } : (options ?? {})) as Record<
    string,
    unknown
  >;
  const kept =
    call === "readFileSync"
      ? ["encoding"]
      : call === "readdirSync"
        ? ["encoding", "withFileTypes", "recursive"]
        : ["bigint", "throwIfNoEntry"];
  return Object.fromEntries(
    kept.filter((name) => given[name] !== undefined).map((name) => [name, given[name]]),
  );
}

const originals: Record<FsCall, (...args: unknown[]) => unknown> = {
  readFileSync,
  existsSync,
  readdirSync,
  statSync,
  lstatSync,
} as never;

function fsDigest(call: FsCall, path: string, options: Record<string, unknown>): string {
  let result: unknown;
  let error: unknown;
  try {
    result = originals[call](path, ...(call === "existsSync" ? [] : [options]));
  } catch (caught) {
    error = caught ?? "error";
  }
  return digest(outcome(call, result, error));
}

// --- Recording a run -----------------------------------------------------------------------

interface Recording {
  dependencies: Map<string, Dependency>;
  /** Why the run cannot be reused, when it did something no dependency describes. */
  unrepeatable?: string;
  paused: number;
}

let recording: Recording | undefined;

function note(id: string, dependency: () => Dependency): void {
  const active = recording;
  // The first sight of a thing is what the run started from.
  if (!active || active.paused > 0 || active.dependencies.has(id)) return;
  try {
    active.dependencies.set(id, dependency());
  } catch (error) {
    active.unrepeatable ??= error instanceof Error ? error.message : String(error);
  }
}

function pathOf(path: unknown): string | undefined {
  if (typeof path === "string") return resolve(path);
  if (Buffer.isBuffer(path)) return resolve(path.toString());
  if (path instanceof URL) return fileURLToPath(path);
  return undefined;
}

// Ways of reading the file system whose answers no record repeats: a run that uses one (outside
// installed packages) is not remembered.
const unrecordable: [object, string[]][] = [
  [
    fs,
    [
      "readFile",
      "readdir",
      "stat",
      "lstat",
      "access",
      "accessSync",
      "openSync",
      "opendirSync",
      "readlinkSync",
    ],
  ],
  [fs.promises, ["readFile", "readdir", "stat", "lstat", "access", "open", "opendir", "readlink"]],
];

// Installed packages are pinned by yarn.lock, which every entry depends on; tsx's compile cache
// (keyed by source) is tidied in the background, also while a run is on.
const tsxCache = join(tmpdir(), "tsx");
const notAnInput = (path: string | undefined) =>
  path?.includes(`${sep}node_modules${sep}`) || path?.startsWith(tsxCache);

let fsWatched = false;
function watchFs(): void {
  if (fsWatched) return;
  fsWatched = true;
  for (const [owner, calls] of unrecordable) {
    const functions = owner as Record<string, (...args: unknown[]) => unknown>;
    for (const call of calls) {
      const original = functions[call];
      if (!original) continue;
      functions[call] = function (this: unknown, ...args: unknown[]) {
        const path = pathOf(args[0]);
        if (recording && recording.paused === 0 && !notAnInput(path)) {
          recording.unrepeatable ??= `${call} of ${path ?? "a file descriptor"}`;
        }
        return original.apply(this, args);
      };
    }
  }
  for (const call of Object.keys(originals) as FsCall[]) {
    const original = originals[call];
    (fs as unknown as Record<FsCall, unknown>)[call] = function (this: unknown, ...args: unknown[]) {
      const active = recording;
      if (!active || active.paused > 0) return original.apply(this, args);
      let result: unknown;
      let error: unknown;
      try {
        result = original.apply(this, args);
      } catch (caught) {
        error = caught ?? "error";
      }
      const path = pathOf(args[0]);
      if (path === undefined) active.unrepeatable ??= `${call} of a file descriptor`;
      else if (!notAnInput(path)) {
        const options = callOptions(call, args[1]);
        note(`fs\0${call}\0${path}\0${JSON.stringify(options)}`, () => ({
          kind: "fs",
          call,
          path,
          options,
          digest: digest(outcome(call, result, error)),
        }));
      }
      if (error !== undefined) throw error;
      return result;
    };
  }
}

// Records the environment variables a run reads, through a stand-in for `process.env` while
// the run is recorded. A run that sets one is not remembered: reusing it would not set it for
// the programs after it.
function watchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const read = (name: string | symbol) => {
    if (typeof name !== "string") return;
    const value = env[name];
    note(`env\0${name}`, () => ({ kind: "env", name, digest: digest(value) }));
  };
  return new Proxy(env, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (typeof value !== "function") read(name);
      return value;
    },
    has(target, name) {
      read(name);
      return Reflect.has(target, name);
    },
    ownKeys(target) {
      note("env-all", () => ({ kind: "env-all", digest: envDigest(target) }));
      return Reflect.ownKeys(target);
    },
    set(target, name, value) {
      noteUnrepeatable(`it set the environment variable ${String(name)}`);
      return Reflect.set(target, name, value);
    },
    deleteProperty(target, name) {
      noteUnrepeatable(`it removed the environment variable ${String(name)}`);
      return Reflect.deleteProperty(target, name);
    },
  });
}

// Of the environment itself, not of its stand-in (whose reads would be recorded).
function envDigest(env: NodeJS.ProcessEnv): string {
  return digest(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Runs `work` (one program run) while recording what it depends on: files it reads, lists or
 * stats through `fs`, environment variables, and where its imports resolve (through
 * `noteResolution`). `dependencies` is undefined when the run did something no record describes.
 */
export async function recordDependencies<T>(
  work: () => Promise<T>,
): Promise<{ result: T; dependencies: Dependency[] | undefined }> {
  watchFs();
  const active: Recording = { dependencies: new Map(), paused: 0 };
  const env = process.env;
  recording = active;
  process.env = watchEnv(env);
  try {
    const result = await work();
    return { result, dependencies: active.unrepeatable ? undefined : [...active.dependencies.values()] };
  } finally {
    process.env = env;
    recording = undefined;
  }
}

/**
 * Runs `work` without recording what it reads: for steps whose result is recorded as a whole
 * (resolving an import) or depends only on what is (compiling a source file already read).
 */
export function unrecorded<T>(work: () => T): T {
  const active = recording;
  if (!active) return work();
  active.paused++;
  try {
    return work();
  } finally {
    active.paused--;
  }
}

/** Records where an import of a workspace file resolved to (`undefined`: it failed). */
export function noteResolution(from: string, request: string, resolved: string | undefined): void {
  note(`resolve\0${from}\0${request}`, () => ({ kind: "resolve", from, request, digest: digest(resolved) }));
}

/** Marks the current run as not reusable, for something it did that no dependency describes. */
export function noteUnrepeatable(reason: string): void {
  if (recording) recording.unrepeatable ??= reason;
}

// --- The cache -----------------------------------------------------------------------------

const synthDir = resolve(__dirname, "..");
const repoRoot = resolve(synthDir, "..", "..");

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesBelow(path) : [path];
  });
}

// Synth's own code, its installed packages and Node itself shape every run.
let toolFingerprint: string | undefined;
function fingerprintOfTool(): string {
  if (toolFingerprint === undefined) {
    const hash = createHash("sha256").update(`${format}\0${process.version}\0`);
    const files = [
      ...filesBelow(join(synthDir, "src")),
      ...filesBelow(join(synthDir, "bin")),
      join(repoRoot, "yarn.lock"),
      join(repoRoot, "tsconfig.json"),
    ].sort();
    for (const file of files) hash.update(`${file}\0`).update(readFileSync(file)).update("\0");
    toolFingerprint = hash.digest("base64url");
  }
  return toolFingerprint;
}

/**
 * Remembers each program run with everything it depended on (see `recordDependencies`), one
 * file per projects directory, stack and project, and hands a run back only while every one of
 * those dependencies is as the run saw it. Runs with errors or unmet references are not kept.
 */
export class ProgramCache {
  // What files and resolutions are now, found once per synth: each program checks them again.
  private readonly current = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly resolveFrom: Resolver,
  ) {}

  private fileOf(key: ProgramKey): string {
    const where = digest(resolve(key.projectsDir)).slice(0, 16);
    return join(
      this.dir,
      `${encodeURIComponent(key.stack)}.${encodeURIComponent(key.project.name)}.${where}.bin`,
    );
  }

  private keyOf(key: ProgramKey): string {
    const { project, config } = key;
    return digest([
      fingerprintOfTool(),
      resolve(key.projectsDir),
      key.stack,
      [project.name, project.dir, project.main],
      [Object.entries(config.values), config.secretKeys, config.secretValues],
      key.workspaceRoots,
    ]);
  }

  private memo(id: string, find: () => string): string {
    let found = this.current.get(id);
    if (found === undefined) {
      found = find();
      this.current.set(id, found);
    }
    return found;
  }

  private digestNow(dependency: Dependency, exportsOf: ExportsLookup): string | undefined {
    switch (dependency.kind) {
      case "exports": {
        const exports = exportsOf(dependency.project);
        try {
          return exports && digest(exports);
        } catch {
          return undefined;
        }
      }
      case "fs": {
        const { call, path, options } = dependency;
        return this.memo(`fs\0${call}\0${path}\0${JSON.stringify(options)}`, () =>
          fsDigest(call, path, options),
        );
      }
      case "env":
        return digest(process.env[dependency.name]);
      case "env-all":
        return envDigest(process.env);
      case "resolve": {
        const { from, request } = dependency;
        return this.memo(`resolve\0${from}\0${request}`, () => {
          try {
            return digest(this.resolveFrom(from, request));
          } catch {
            return digest(undefined);
          }
        });
      }
    }
  }

  /** The remembered run of the program, if nothing it depended on changed since. */
  lookup(key: ProgramKey, exportsOf: ExportsLookup): ProgramRun | undefined {
    const file = this.fileOf(key);
    if (!existsSync(file)) return undefined;
    let entry: Entry;
    try {
      entry = deserialize(readFileSync(file)) as Entry;
    } catch {
      // A damaged entry only costs the run it would have saved.
      return undefined;
    }
    if (entry.format !== format || entry.key !== this.keyOf(key)) return undefined;
    for (const dependency of entry.dependencies) {
      if (this.digestNow(dependency, exportsOf) !== dependency.digest) return undefined;
    }
    return entry.run;
  }

  /**
   * Remembers a run that had no errors and all the exports it asked for, with what it depended
   * on, the exports of the projects it referenced first. A run whose copy would not be exactly
   * itself (a value the format cannot hold) is not remembered.
   */
  store(key: ProgramKey, run: ProgramRun, recorded: Dependency[], exportsOf: ExportsLookup): void {
    if (run.errors.length > 0 || run.missingProjects.size > 0) return;
    let blob: Buffer;
    try {
      const exports: Dependency[] = [...run.references].map((project) => ({
        kind: "exports",
        project,
        digest: digest(exportsOf(project)),
      }));
      const entry: Entry = { format, key: this.keyOf(key), dependencies: [...exports, ...recorded], run };
      blob = serialize(entry);
      if (!isDeepStrictEqual((deserialize(blob) as Entry).run, run)) return;
    } catch {
      return;
    }
    const file = this.fileOf(key);
    mkdirSync(dirname(file), { recursive: true });
    // Written whole, then renamed: a synth running beside this one never reads half an entry.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, blob);
    renameSync(partial, file);
  }
}
