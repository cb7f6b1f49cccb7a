import { resolve } from "node:path";
import { discoverProjects, type ProjectInfo } from "./projects";
import { type ExportedOutput, type ProgramRun, runProgram } from "./run-program";
import { readStackConfig } from "./stack-config";

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
  /** Called when a project starts and ends, for progress output. */
  onProgress?: (event: { stack: string; project: string; phase: "start" | "done" | "deferred" }) => void;
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

/**
 * Runs every project of a stack under the mock runtime. The order is derived from the
 * StackReferences the programs make: a program that references a project not yet run is
 * discarded, that project runs first, and the program runs again with its real exports.
 */
export async function synthStack(
  stack: string,
  projects: Map<string, ProjectInfo>,
  options: SynthOptions,
): Promise<StackSynth> {
  const result: StackSynth = { stack, projects: [], errors: [] };
  const done = new Map<string, ProjectSynth>();
  const inProgress: string[] = [];
  const failed = new Set<string>();
  // Members of a reported cycle: their failure is already explained by the cycle's message.
  const inCycle = new Set<string>();
  const roots = options.workspaceRoots ?? [resolve(options.projectsDir)];
  const exportsOf = (name: string): Record<string, ExportedOutput> | undefined => done.get(name)?.outputs;

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
      const config = readStackConfig(project, stack);
      for (;;) {
        options.onProgress?.({ stack, project: name, phase: "start" });
        const run = await runProgram(project, stack, config, exportsOf, roots);
        if (run.missingProjects.size === 0) {
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
        for (const dependency of run.missingProjects) {
          if (!(await synthProject(dependency, name))) {
            failed.add(name);
            if (!inCycle.has(dependency)) {
              result.errors.push(
                `Project "${name}" was skipped: it references "${dependency}", which failed`,
              );
            }
            return false;
          }
        }
      }
    } finally {
      inProgress.pop();
    }
  }

  // A requested project renders on the stacks it is placed on (has a stack file for) only.
  const wanted = (options.projects ?? [...projects.keys()]).filter((name) =>
    projects.get(name)?.stacks.includes(stack),
  );
  for (const name of [...wanted].sort()) await synthProject(name);
  return result;
}

/** Synthesizes the requested stacks (all stacks of all projects by default). */
export async function synth(options: SynthOptions): Promise<StackSynth[]> {
  const projects = discoverProjects(options.projectsDir);
  for (const name of options.projects ?? []) {
    if (!projects.has(name)) {
      throw new Error(`Unknown project "${name}"; projects: ${[...projects.keys()].sort().join(", ")}`);
    }
  }
  const allStacks = [...new Set([...projects.values()].flatMap((project) => project.stacks))].sort();
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
  const results: StackSynth[] = [];
  for (const stack of stacks) results.push(await synthStack(stack, projects, options));
  return results;
}
