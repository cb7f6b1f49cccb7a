import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ProgramCache, recordDependencies } from "./program-cache";
import { discoverProjects, type ProjectInfo, stacksOf } from "./projects";
import {
  type ExportedOutput,
  forgetResolutions,
  type ProgramRun,
  parseReferenceKey,
  resolveFrom,
  runProgram,
} from "./run-program";
import { readStackConfig, type StackConfig } from "./stack-config";
import { checkUnreadConfig } from "./validate/config";

/** The synthesized desired state of one project on one stack. */
export interface ProjectSynth extends ProgramRun {
  /** Secret texts (config placeholders, generated values) that must never appear in output. */
  secretValues: string[];
}

/** The synthesized desired state of one stack: its projects in the order they ran. */
export interface StackSynth {
  stack: string;
  projects: ProjectSynth[];
  /** Errors that belong to the stack rather than to one project (a cycle, an unknown project). */
  errors: string[];
  /**
   * Projects not run because a project they need failed, each as `<project> (needs <project>,
   * which failed)` naming the root cause: its error is reported once, by the project that failed.
   * Synth always sets it; a stack made by hand (a validation test's) may leave it out.
   */
  skipped?: string[];
}

export interface SynthOptions {
  /** The directory holding one folder per Pulumi project. */
  projectsDir: string;
  /** Stacks to synthesize; every stack any project has when omitted. */
  stacks?: string[];
  /** Projects to synthesize (with the projects they reference); all when omitted. */
  projects?: string[];
  /** Directories whose modules are reloaded for every program run (the workspace's own code). */
  workspaceRoots?: string[];
  /**
   * Called when a project starts and ends, for progress output: `reused` (between the two) when
   * its program did not run, its remembered run standing in.
   */
  onProgress?: (event: {
    stack: string;
    project: string;
    phase: "start" | "reused" | "done" | "deferred";
  }) => void;
  /**
   * Where to remember the projects each program referenced, so that the next synth runs them
   * first instead of discarding a first run of the program; nothing is remembered when omitted.
   */
  referencesFile?: string;
  /**
   * Where to remember each program's run with everything it depended on, to reuse it while
   * none of that changed (see program-cache.ts); every program runs when omitted.
   */
  programCacheDir?: string;
}

/** Per projects directory and stack, the projects each project referenced, in the order it did. */
type ReferencesByStack = Record<string, Record<string, Record<string, string[]>>>;

function readReferences(file: string | undefined): ReferencesByStack {
  if (!file || !existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ReferencesByStack;
  } catch {
    // A damaged file only costs the discarded runs it would have saved.
    return {};
  }
}

function writeReferences(file: string, references: ReferencesByStack): void {
  // Forget projects directories that are gone (a test's temporary copies).
  for (const dir of Object.keys(references)) if (!existsSync(dir)) delete references[dir];
  mkdirSync(dirname(file), { recursive: true });
  // Written whole, then renamed: a synth running beside this one never reads half a file.
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(references));
  renameSync(partial, file);
}

/** A project referenced a project that is not in the workspace, or not on this stack. */
function missingProjectError(
  stack: string,
  from: string,
  missing: string,
  projects: Map<string, ProjectInfo>,
) {
  const project = projects.get(missing);
  if (!project) return `Project "${from}" references project "${missing}", which does not exist`;
  return `Project "${from}" references project "${missing}", which has no stack "${stack}" (Pulumi.${stack}.yaml)`;
}

/** One stack's synthesis under way: the projects run so far, and how to run one more. */
interface StackEngine {
  result: StackSynth;
  /** Runs a project (after what it references) unless it ran; whether it succeeded. */
  synthProject(name: string, from?: string): Promise<boolean>;
  /** The exports of a project that ran and succeeded. */
  exportsOf(name: string): Record<string, ExportedOutput> | undefined;
  /** Whether a program had to run again after a project it referenced. */
  deferred: boolean;
}

/** The engine of another server's stack, for a program that reads it (created on first use). */
type EngineOf = (stack: string) => StackEngine;

/**
 * Runs projects of a stack under the mock runtime. The order is derived from the StackReferences
 * the programs make: a program that references a project not yet run is discarded, that project
 * runs first, and the program runs again with its real exports. A reference to another server's
 * stack runs that project in that stack's engine (`engineOf`). `remembered` (what each program
 * referenced last time) lets a project's references run before its first run instead, in the
 * order the discarded run would have found them.
 */
function createStackEngine(
  stack: string,
  projects: Map<string, ProjectInfo>,
  options: SynthOptions,
  cache: ProgramCache | undefined,
  remembered: Record<string, string[]>,
  engineOf: EngineOf,
): StackEngine {
  const skipped: string[] = [];
  const result: StackSynth = { stack, projects: [], errors: [], skipped };
  const done = new Map<string, ProjectSynth>();
  const inProgress: string[] = [];
  const failed = new Set<string>();
  // A skipped project → the failed project at the root of its skip.
  const rootCause = new Map<string, string>();
  // Members of a reported cycle: their failure is already explained by the cycle's message.
  const inCycle = new Set<string>();
  const roots = options.workspaceRoots ?? [resolve(options.projectsDir)];
  // A failed project has no exports to offer: a program referencing it is skipped, not run on
  // partial exports (which would fail again, reporting the same root cause as its own error).
  const ownExports = (name: string): Record<string, ExportedOutput> | undefined =>
    failed.has(name) ? undefined : done.get(name)?.outputs;
  const exportsOf = (key: string): Record<string, ExportedOutput> | undefined => {
    const { project, stack: other } = parseReferenceKey(key, stack);
    return other === stack ? ownExports(project) : engineOf(other).exportsOf(project);
  };
  const engine: StackEngine = { result, synthProject, exportsOf: ownExports, deferred: false };

  // With a cache, a program's remembered run stands in for it while nothing the run depended on
  // changed (the exports it was given included); a run made is remembered with what it read.
  async function runOrReuse(project: ProjectInfo, config: StackConfig): Promise<ProgramRun> {
    const program = () => runProgram(project, stack, config, exportsOf, roots);
    if (!cache) return program();
    const key = { projectsDir: options.projectsDir, stack, project, config, workspaceRoots: roots };
    const reused = cache.lookup(key, exportsOf);
    if (reused) {
      options.onProgress?.({ stack, project: project.name, phase: "reused" });
      return reused;
    }
    const { result, dependencies } = await recordDependencies(program);
    if (dependencies) cache.store(key, result, dependencies, exportsOf);
    return result;
  }

  /** Runs a referenced project: this stack's, or another server's in its own engine. */
  function synthReference(key: string, from: string): Promise<boolean> {
    const { project, stack: other } = parseReferenceKey(key, stack);
    return other === stack
      ? synthProject(project, from)
      : engineOf(other).synthProject(project, `${from}@${stack}`);
  }

  async function synthProject(name: string, from?: string): Promise<boolean> {
    // A project runs once: a failed one (in a cycle, or with a failed dependency) is not retried.
    if (done.has(name) || failed.has(name)) return !failed.has(name);
    const cycleStart = inProgress.indexOf(name);
    if (cycleStart >= 0) {
      for (const member of inProgress.slice(cycleStart)) inCycle.add(member);
      const cycle = [...inProgress.slice(cycleStart), name].join(" → ");
      result.errors.push(`Projects reference each other in a cycle on stack "${stack}": ${cycle}`);
      return false;
    }
    const project = projects.get(name);
    if (!project?.stacks.includes(stack)) {
      result.errors.push(missingProjectError(stack, from ?? name, name, projects));
      return false;
    }
    inProgress.push(name);
    try {
      let config: StackConfig;
      try {
        config = readStackConfig(project, stack);
      } catch (error) {
        failed.add(name);
        result.errors.push(error instanceof Error ? error.message : String(error));
        return false;
      }
      let dependencies: Iterable<string> = remembered[name] ?? [];
      for (;;) {
        for (const dependency of dependencies) {
          if (!(await synthReference(dependency, name))) {
            failed.add(name);
            const root = rootCause.get(dependency) ?? dependency;
            rootCause.set(name, root);
            if (!inCycle.has(name)) skipped.push(`${name} (needs ${root}, which failed)`);
            if (root.includes("@")) result.errors.push(crossStackFailure(name, stack, dependency, engineOf));
            return false;
          }
        }
        options.onProgress?.({ stack, project: name, phase: "start" });
        const run = await runOrReuse(project, config);
        if (run.missingProjects.size === 0) {
          // A key no program read is a typo or belongs elsewhere: it fails the project, as a
          // setting it would otherwise ignore. A program that reads and creates nothing here (an
          // app placed on another server) keeps its settings for the server it may move to.
          if (run.errors.length === 0 && (run.resources.length > 0 || run.configReads.size > 0)) {
            run.errors.push(...checkUnreadConfig(name, stack, Object.keys(config.values), run.configReads));
          }
          const synth: ProjectSynth = {
            ...run,
            secretValues: [...config.secretValues, ...run.generatedSecrets],
          };
          done.set(name, synth);
          result.projects.push(synth);
          if (run.errors.length > 0) failed.add(name);
          options.onProgress?.({ stack, project: name, phase: "done" });
          return run.errors.length === 0;
        }
        options.onProgress?.({ stack, project: name, phase: "deferred" });
        engine.deferred = true;
        dependencies = run.missingProjects;
      }
    } finally {
      inProgress.pop();
    }
  }

  return engine;
}

/**
 * Why a project failed on another server's stack, which that stack's own report may not show (it
 * is not among the stacks synthesized): its errors, or the projects skipped there.
 */
function crossStackFailure(name: string, stack: string, dependency: string, engineOf: EngineOf): string {
  const { project, stack: other } = parseReferenceKey(dependency, stack);
  const there = engineOf(other).result;
  const failure = there.projects.find((run) => run.project === project);
  const reasons = [...(failure?.errors ?? []), ...there.errors, ...(there.skipped ?? [])];
  return (
    `Project "${name}" on stack "${stack}" reads project "${project}" on stack "${other}", which failed` +
    (reasons.length > 0 ? `: ${reasons.join("; ")}` : "")
  );
}

/**
 * The stack's projects in the order a run without remembered references finds them: from each
 * project by name, what it references on its own stack first, in the order it referenced them.
 * A stack whose engine also ran projects for another server's reader gets the same order as on
 * its own.
 */
function canonicalOrder(result: StackSynth): StackSynth {
  const byName = new Map(result.projects.map((run) => [run.project, run]));
  const ordered: ProjectSynth[] = [];
  const visited = new Set<string>();
  const visit = (name: string) => {
    const run = byName.get(name);
    if (!run || visited.has(name)) return;
    visited.add(name);
    for (const reference of run.references) if (!reference.includes("@")) visit(reference);
    ordered.push(run);
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return { ...result, projects: ordered };
}

/** Runs the wanted projects of a stack in its engine; whether the remembered references predicted the run. */
async function synthWanted(engine: StackEngine, wanted: string[], remembered: Record<string, string[]>) {
  for (const name of [...wanted].sort()) await engine.synthProject(name);
  const { result } = engine;
  // Only a run the remembered references fully predicted is the run without them: anything
  // else (a program that now references differently, a failure) runs the stack again without.
  return (
    !engine.deferred &&
    result.errors.length === 0 &&
    (result.skipped ?? []).length === 0 &&
    result.projects.every(
      (run) => JSON.stringify([...run.references]) === JSON.stringify(remembered[run.project] ?? []),
    )
  );
}

/** Synthesizes the requested stacks (all stacks of all projects by default). */
export async function synth(options: SynthOptions): Promise<StackSynth[]> {
  const projects = discoverProjects(options.projectsDir);
  for (const name of options.projects ?? []) {
    if (!projects.has(name)) {
      throw new Error(`Unknown project "${name}"; projects: ${[...projects.keys()].sort().join(", ")}`);
    }
  }
  const allStacks = stacksOf(projects);
  const stacks = options.stacks ?? allStacks;
  for (const stack of stacks) {
    if (!allStacks.includes(stack))
      throw new Error(`Unknown stack "${stack}"; stacks: ${allStacks.join(", ")}`);
  }
  for (const name of options.projects ?? []) {
    if (!stacks.some((stack) => projects.get(name)?.stacks.includes(stack))) {
      throw new Error(
        `Project "${name}" has no stack among ${stacks.join(", ")}; it is placed on: ` +
          `${projects.get(name)?.stacks.join(", ") || "no stack"}`,
      );
    }
  }
  forgetResolutions();
  // One per synth: what it finds files and imports to be now holds for this synth only.
  const cache = options.programCacheDir ? new ProgramCache(options.programCacheDir, resolveFrom) : undefined;
  const file = options.referencesFile;
  const references = readReferences(file);
  const projectsDir = resolve(options.projectsDir);
  // One engine per stack, shared: a stack another server's reader needed runs its projects once.
  const engines = new Map<string, StackEngine>();
  const engineOf: EngineOf = (stack) => {
    let engine = engines.get(stack);
    if (!engine) {
      if (!allStacks.includes(stack))
        throw new Error(`Unknown stack "${stack}"; stacks: ${allStacks.join(", ")}`);
      engine = createStackEngine(
        stack,
        projects,
        options,
        cache,
        references[projectsDir]?.[stack] ?? {},
        engineOf,
      );
      engines.set(stack, engine);
    }
    return engine;
  };
  const results: StackSynth[] = [];
  for (const stack of stacks) {
    const remembered = references[projectsDir]?.[stack] ?? {};
    // A requested project renders on the stacks it is placed on (has a stack file for) only.
    const wanted = (options.projects ?? [...projects.keys()]).filter((name) =>
      projects.get(name)?.stacks.includes(stack),
    );
    let engine = engineOf(stack);
    if (!(await synthWanted(engine, wanted, remembered)) && Object.keys(remembered).length > 0) {
      engine = createStackEngine(stack, projects, options, cache, {}, engineOf);
      engines.set(stack, engine);
      await synthWanted(engine, wanted, {});
    }
    const result = canonicalOrder(engine.result);
    results.push(result);
    for (const run of result.projects) remembered[run.project] = [...run.references];
    references[projectsDir] = { ...references[projectsDir], [stack]: remembered };
  }
  if (file) writeReferences(file, references);
  return results;
}
