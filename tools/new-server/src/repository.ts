import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { serversDir } from "@infra/core";

/** Where a server's files are, relative to the repository's root. */
export const paths = {
  server: (name: string) => join(serversDir, `${name}.json`),
  instance: (name: string) => join("terraform", "instances", name),
  template: (kind: string) => join("terraform", "templates", kind),
  projects: join("pulumi", "projects"),
  stackFile: (project: string, stack: string) => join("pulumi", "projects", project, `Pulumi.${stack}.yaml`),
  placement: join("pulumi", "placement.yaml"),
};

/** Every project's stack file of `stack` that exists, relative to `root`. */
export function stackFilesOf(root: string, stack: string): string[] {
  const projects = join(root, paths.projects);
  if (!existsSync(projects)) return [];
  return readdirSync(projects)
    .sort()
    .map((project) => paths.stackFile(project, stack))
    .filter((file) => existsSync(join(root, file)));
}

// Like the hand-written descriptions (and what biome keeps): one key a line, an object on one line
// when it fits the line width.
const lineWidth = 110;

function formatValue(value: unknown, indent: string, lead: number): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return JSON.stringify(value);
  const entries = Object.entries(value);
  const inline = `{ ${entries.map(([key, item]) => `${JSON.stringify(key)}: ${JSON.stringify(item)}`).join(", ")} }`;
  const flat = entries.every(([, item]) => typeof item !== "object" || item === null);
  if (indent !== "" && flat && lead + inline.length + 1 <= lineWidth) return inline;
  const inner = `${indent}  `;
  const lines = entries.map(([key, item]) => {
    const head = `${inner}${JSON.stringify(key)}: `;
    return `${head}${formatValue(item, inner, head.length)}`;
  });
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/** A server description's text, formatted like the existing ones. */
export function formatServerJson(description: object): string {
  return `${formatValue(description, "", 0)}\n`;
}

/** A file to write, relative to the root. */
export interface FileWrite {
  path: string;
  content: string;
}

/** Every file below `dir` (relative to it) but Terraform's working files and state. */
export function templateFiles(dir: string): string[] {
  const skipped = (entry: string) =>
    entry === ".terraform" || entry.endsWith(".tfstate") || entry.endsWith(".tfstate.backup");
  const walk = (current: string): string[] =>
    readdirSync(current)
      .filter((entry) => !skipped(entry))
      .sort()
      .flatMap((entry) => {
        const path = join(current, entry);
        return statSync(path).isDirectory() ? walk(path) : [relative(dir, path)];
      });
  return walk(dir);
}

/**
 * Writes every file, none of which may exist yet; if one fails, removes what was written (and the
 * directories made for it) before the error goes on, so nothing is half-created.
 */
export function writeAll(root: string, writes: readonly FileWrite[]): void {
  const created: string[] = [];
  try {
    for (const write of writes) {
      const path = join(root, write.path);
      let missing = dirname(path);
      const made: string[] = [];
      while (!existsSync(missing)) {
        made.unshift(missing);
        missing = dirname(missing);
      }
      mkdirSync(dirname(path), { recursive: true });
      created.push(...made);
      writeFileSync(path, write.content, { flag: "wx" });
      created.push(path);
    }
  } catch (error) {
    for (const path of created.reverse()) rmSync(path, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Removes files and directories (relative to `root`) all or none: each is first moved aside, and
 * if a move fails, those moved go back before the error goes on.
 */
export function removeAll(root: string, targets: readonly string[]): void {
  const aside = mkdtempSync(join(root, ".new-server-removing-"));
  const moved: { from: string; to: string }[] = [];
  try {
    for (const [index, target] of targets.entries()) {
      const move = { from: join(root, target), to: join(aside, String(index)) };
      renameSync(move.from, move.to);
      moved.push(move);
    }
  } catch (error) {
    for (const move of moved.reverse()) renameSync(move.to, move.from);
    rmSync(aside, { recursive: true, force: true });
    throw error;
  }
  rmSync(aside, { recursive: true, force: true });
}

/** Whether a Terraform state file records resources: a destroyed server's state is left empty. */
export function stateHoldsResources(file: string): boolean {
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as { resources?: unknown[] };
    return (state.resources ?? []).length > 0;
  } catch {
    // A state that cannot be read may well describe a live server.
    return true;
  }
}
