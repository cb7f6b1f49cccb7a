import { discoverProjects, stacksOf } from "./projects";
import { renderReportHtml, stackPicture } from "./report-html";
import { type StackSynth, type SynthOptions, synth } from "./synth";
import { validateStack } from "./validate";
import { ValidationCache } from "./validate/cache";
import { checkServers, describeExampleValue, exampleValues } from "./validate/config";
import { checkCrossStack } from "./validate/cross-stack";
import { checkPlacement, placementBeside } from "./validate/placement";
import { checkPrivateNames } from "./validate/private-names";
import { writeReport, writeStack } from "./write";

export interface ProjectSummary {
  project: string;
  /** Registered resources by type. */
  kinds: Map<string, number>;
}

export interface SynthReport {
  stacks: {
    stack: string;
    projects: ProjectSummary[];
    examples: string[];
    /** Projects not run because a project they need failed (see StackSynth). */
    skipped: string[];
  }[];
  /** Every error and validation failure, each naming stack and project. */
  problems: string[];
  /** What synth accepts but a deployment must not carry: the example values left (see `deploy`). */
  warnings: string[];
  milliseconds: number;
  results: StackSynth[];
}

export interface SynthAndValidateOptions extends SynthOptions {
  outDir: string;
  validate: boolean;
  /** Where to remember objects that passed schema validation; no cache when omitted. */
  validationCacheFile?: string;
  /** Checks for a real deployment: an example value left is a problem, not a warning. */
  deploy?: boolean;
}

function kindOf(type: string): string {
  const match = /^kubernetes:[^:]+:(.+)$/.exec(type);
  return match?.[1] ?? type;
}

/** Synthesizes, writes the output contract, validates, and gathers every problem found. */
export async function synthAndValidate(options: SynthAndValidateOptions): Promise<SynthReport> {
  const started = performance.now();
  const projects = discoverProjects(options.projectsDir);
  // The descriptions speak of every stack: checked once, also when one stack is synthesized. A
  // stack they break is not run, so its programs do not report the same problem again.
  const servers = checkServers(projects.values(), options.projectsDir);
  const requested = options.stacks ?? stacksOf(projects);
  const results = await synth({
    ...options,
    stacks: requested.filter((stack) => !servers.blocked.has(stack)),
  });
  const problems: string[] = [...servers.problems];
  const exampleList = exampleValues(projects.values(), requested, options.projectsDir);
  const examples = exampleList.map(describeExampleValue);
  const warnings = options.deploy ? [] : examples;
  if (options.deploy && examples.length > 0) {
    problems.push(...examples.map((example) => `not deployable: ${example}`));
  }
  const cache = new ValidationCache(options.validate ? options.validationCacheFile : undefined);
  const placement = placementBeside(options.projectsDir)?.placement;
  for (const result of results) {
    problems.push(...result.errors.map((error) => `${result.stack}: ${error}`));
    for (const project of result.projects) {
      problems.push(...project.errors.map((error) => `${result.stack}/${project.project}: ${error}`));
    }
    problems.push(...writeStack(options.outDir, result).map((leak) => `${result.stack}: ${leak}`));
    if (options.validate) problems.push(...(await validateStack(result, cache)));
    // The picture of the stack; a program that failed leaves it out (its objects are not all there).
    try {
      // The site's values and this stack's own.
      const stackExamples = exampleList.filter(
        (example) => example.stack === undefined || example.stack === result.stack,
      );
      const html = renderReportHtml(stackPicture(result, stackExamples, placement));
      problems.push(...writeReport(options.outDir, result, html).map((leak) => `${result.stack}: ${leak}`));
    } catch (error) {
      problems.push(
        `${result.stack}: report.html: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  // Only all stacks together show resources that two stacks would fight over.
  if (options.validate) {
    problems.push(...checkCrossStack(results).map((problem) => `cross-stack: ${problem}`));
    problems.push(...checkPrivateNames(results).map((problem) => `private names: ${problem}`));
    // The placement speaks of every stack, also when one was synthesized.
    const placed = placementBeside(options.projectsDir);
    if (placed) {
      problems.push(...checkPlacement(placed.placement, projects).map((problem) => `placement: ${problem}`));
    }
  }
  cache.save();
  return {
    results,
    problems,
    warnings,
    milliseconds: performance.now() - started,
    stacks: [
      ...[...servers.blocked]
        .filter(([stack]) => requested.includes(stack))
        .map(([stack, reason]) => ({
          stack,
          examples: [],
          skipped: [`every project (${reason})`],
          projects: [],
        })),
      ...results.map((result) => ({
        stack: result.stack,
        examples: [...new Set(result.projects.flatMap((project) => project.examples))],
        skipped: result.skipped ?? [],
        projects: result.projects.map((project) => {
          const kinds = new Map<string, number>();
          for (const resource of project.resources) {
            if (resource.read) continue;
            const kind = kindOf(resource.type);
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
          }
          return { project: project.project, kinds };
        }),
      })),
    ],
  };
}
