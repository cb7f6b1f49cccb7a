import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, YAMLParseError } from "yaml";

/** A Pulumi project of the workspace. */
export interface ProjectInfo {
  /** The project's name (Pulumi.yaml `name`). */
  name: string;
  /** Its directory. */
  dir: string;
  /** The program's entry file. */
  main: string;
  /** Stacks that have a `Pulumi.<stack>.yaml`. */
  stacks: string[];
  /** Project-level config defaults from Pulumi.yaml (`config: { key: { default } }`). */
  configDefaults: Record<string, unknown>;
}

interface PulumiYaml {
  name?: unknown;
  main?: unknown;
  config?: Record<string, unknown>;
}

/** Parses a YAML file; a syntax error names the file, line and column (as editors link them). */
export function readYamlFile(file: string): unknown {
  const text = readFileSync(file, "utf8");
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const [start] = error.linePos ?? [];
    const where = start ? `${file}:${start.line}:${start.col}` : file;
    throw new Error(`${where}: ${error.message.replace(/ at line \d+, column \d+:/, ":")}`);
  }
}

/** Reads one project directory (a folder with a Pulumi.yaml). */
export function readProject(dir: string): ProjectInfo {
  const file = join(dir, "Pulumi.yaml");
  const project = (readYamlFile(file) ?? {}) as PulumiYaml;
  if (typeof project.name !== "string" || project.name === "") {
    throw new Error(`${file}: "name" is missing`);
  }
  const main = resolve(dir, typeof project.main === "string" ? project.main : "index.ts");
  if (!existsSync(main)) throw new Error(`${file}: the program "${main}" does not exist`);
  const stacks = readdirSync(dir)
    .map((entry) => /^Pulumi\.(.+)\.yaml$/.exec(entry)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
  const configDefaults: Record<string, unknown> = {};
  for (const [key, declaration] of Object.entries(project.config ?? {})) {
    const value =
      typeof declaration === "object" && declaration !== null && "default" in declaration
        ? (declaration as { default: unknown }).default
        : declaration;
    if (value !== undefined && (typeof value !== "object" || value === null || !("type" in value))) {
      configDefaults[key.includes(":") ? key : `${project.name}:${key}`] = value;
    }
  }
  return { name: project.name, dir, main, stacks, configDefaults };
}

/** Every project below `projectsDir` (one level deep), by name. */
export function discoverProjects(projectsDir: string): Map<string, ProjectInfo> {
  const projects = new Map<string, ProjectInfo>();
  for (const entry of readdirSync(projectsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !existsSync(join(projectsDir, entry.name, "Pulumi.yaml"))) continue;
    const project = readProject(join(projectsDir, entry.name));
    const existing = projects.get(project.name);
    if (existing)
      throw new Error(`Two projects are named "${project.name}": ${existing.dir} and ${project.dir}`);
    projects.set(project.name, project);
  }
  return projects;
}

/** Every stack some project has a stack file for, sorted. */
export function stacksOf(projects: Map<string, ProjectInfo>): string[] {
  return [...new Set([...projects.values()].flatMap((project) => project.stacks))].sort();
}
