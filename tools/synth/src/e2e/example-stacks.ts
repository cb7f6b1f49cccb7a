import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { synthAndValidate } from "../report";

const repoRoot = resolve(__dirname, "..", "..", "..", "..");
const projectsDir = join(repoRoot, "pulumi", "projects");

/** The example stacks every base-infrastructure project has. */
export const exampleStacks = ["cloud-a", "cloud-b", "local-a"] as const;

/** One resource as synth writes it to resources.json. */
export interface WrittenResource {
  type: string;
  name: string;
  parent: string | null;
  dependsOn: string[];
  provider: string | null;
  read: boolean;
  inputs: Record<string, any>;
}

/** The output contract synth wrote for some projects of the example stacks, read back from disk. */
export interface ExampleOutput {
  /** Every problem synth and validation reported. */
  problems: string[];
  /** The projects of a stack in the order they ran, from order.json. */
  order(stack: string): { project: string; reads: Record<string, string[]> }[];
  manifests(stack: string, project: string): Record<string, any>[];
  /** The object of a kind and name a project rendered; fails the test when there is none. */
  manifest(stack: string, project: string, kind: string, name: string): Record<string, any>;
  resources(stack: string, project: string): WrittenResource[];
  /** The Helm release a project installs (its resources.json inputs). */
  release(stack: string, project: string): Record<string, any>;
  outputs(stack: string, project: string): Record<string, any>;
  /** Every file written for a stack, with its text. */
  files(stack: string): { path: string; text: string }[];
  /** A project's config of a stack, as written in its Pulumi.<stack>.yaml. */
  config(stack: string, project: string): Record<string, any>;
  remove(): void;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

/**
 * Synthesizes and validates `projects` (with every project they reference) on the example stacks
 * into a temporary directory, exactly as `yarn synth` does, and reads what it wrote.
 */
export async function synthExampleStacks(projects: string[]): Promise<ExampleOutput> {
  const outDir = mkdtempSync(join(tmpdir(), "synth-e2e-"));
  const report = await synthAndValidate({
    projectsDir,
    workspaceRoots: [join(repoRoot, "pulumi")],
    outDir,
    validate: true,
    stacks: [...exampleStacks],
    projects,
  });
  const projectDir = (stack: string, project: string) => join(outDir, stack, project);
  const manifests = (stack: string, project: string) =>
    parseAllDocuments(readFileSync(join(projectDir(stack, project), "manifests.yaml"), "utf8")).map(
      (document) => document.toJS() as Record<string, any>,
    );
  const resources = (stack: string, project: string): WrittenResource[] =>
    readJson(join(projectDir(stack, project), "resources.json"));
  return {
    problems: report.problems,
    order: (stack) => readJson(join(outDir, stack, "order.json")).projects,
    manifests,
    manifest(stack, project, kind, name) {
      const found = manifests(stack, project).find(
        (object) => object.kind === kind && object.metadata?.name === name,
      );
      assert.ok(found, `${stack}/${project} rendered no ${kind} ${name}`);
      return found;
    },
    resources,
    release(stack, project) {
      const releases = resources(stack, project).filter(
        (resource) => resource.type === "kubernetes:helm.sh/v3:Release",
      );
      assert.equal(releases.length, 1, `${stack}/${project} should install exactly one Helm release`);
      return (releases[0] as WrittenResource).inputs;
    },
    outputs: (stack, project) => readJson(join(projectDir(stack, project), "outputs.json")),
    files: (stack) =>
      listFiles(join(outDir, stack)).map((path) => ({ path, text: readFileSync(path, "utf8") })),
    config: (stack, project) =>
      parse(readFileSync(join(projectsDir, project, `Pulumi.${stack}.yaml`), "utf8"))?.config ?? {},
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
