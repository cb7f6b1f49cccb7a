import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "./repo";

interface TaskfileDocument {
  version?: unknown;
  includes?: Record<string, string | { taskfile?: string; optional?: boolean; aliases?: string[] }>;
  tasks?: Record<string, TaskDefinition | string | string[] | null>;
}

interface TaskDefinition {
  aliases?: string[];
  cmds?: unknown[];
  deps?: unknown[];
}

interface TaskCall {
  /** Fully qualified name of the task that makes the call. */
  caller: string;
  /** The task name as written. */
  target: string;
  /** Namespace of the Taskfile the call is written in ("" for the root). */
  namespace: string;
}

export interface TaskfileTree {
  /** Fully qualified task names (and aliases) that can be called. */
  tasks: Set<string>;
  calls: TaskCall[];
  problems: string[];
}

function resolveTaskfilePath(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, "Taskfile.yml") : path;
}

function qualify(namespace: string, name: string): string {
  return namespace ? `${namespace}:${name}` : name;
}

function callTargets(entries: unknown[] | undefined): string[] {
  return (entries ?? []).flatMap((entry) => {
    if (typeof entry === "string") return [entry];
    if (entry && typeof entry === "object") {
      const { task, defer } = entry as { task?: unknown; defer?: unknown };
      if (typeof task === "string") return [task];
      if (defer && typeof defer === "object" && typeof (defer as { task?: unknown }).task === "string") {
        return [(defer as { task: string }).task];
      }
    }
    return [];
  });
}

/** Loads a Taskfile and, recursively, the Taskfiles it includes (go-task v3 schema). */
export function loadTaskfileTree(rootPath: string, root = REPO_ROOT): TaskfileTree {
  const tree: TaskfileTree = { tasks: new Set(), calls: [], problems: [] };
  const load = (path: string, namespace: string, aliasNamespaces: string[]) => {
    const label = relative(root, path);
    let document: TaskfileDocument;
    try {
      document = (parse(readFileSync(path, "utf8")) ?? {}) as TaskfileDocument;
    } catch (error) {
      tree.problems.push(
        `${label} does not parse: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    if (String(document.version) !== "3") tree.problems.push(`${label}: expected version "3"`);
    for (const [name, definition] of Object.entries(document.tasks ?? {})) {
      const aliases =
        definition && typeof definition === "object" && !Array.isArray(definition)
          ? (definition.aliases ?? [])
          : [];
      for (const prefix of [namespace, ...aliasNamespaces]) {
        for (const taskName of [name, ...aliases]) tree.tasks.add(qualify(prefix, taskName));
      }
      const caller = qualify(namespace, name);
      const steps =
        typeof definition === "string"
          ? []
          : Array.isArray(definition)
            ? definition
            : [...(definition?.cmds ?? [])];
      const deps =
        definition && typeof definition === "object" && !Array.isArray(definition) ? definition.deps : [];
      for (const target of [
        ...callTargets(steps.filter((step) => typeof step === "object")),
        ...callTargets(deps),
      ]) {
        tree.calls.push({ caller, target, namespace });
      }
    }
    for (const [includeName, include] of Object.entries(document.includes ?? {})) {
      const spec = typeof include === "string" ? { taskfile: include } : include;
      const included = resolveTaskfilePath(resolve(dirname(path), spec.taskfile ?? ""));
      if (!existsSync(included)) {
        if (!spec.optional)
          tree.problems.push(`${label}: include "${includeName}" not found: ${spec.taskfile}`);
        continue;
      }
      const childNamespace = qualify(namespace, includeName);
      const childAliases = (spec.aliases ?? []).map((alias) => qualify(namespace, alias));
      load(included, childNamespace, childAliases);
    }
  };
  load(resolveTaskfilePath(rootPath), "", []);
  return tree;
}

/**
 * Calls to tasks that do not exist. A name is looked up in the calling Taskfile's namespace; a leading
 * `:` means the root. Templated names (`{{...}}`) are decided at run time and skipped.
 */
export function unresolvedTaskCalls(tree: TaskfileTree): string[] {
  return tree.calls
    .filter(({ target }) => !target.includes("{{"))
    .filter(({ target, namespace }) => {
      const name = target.startsWith(":") ? target.slice(1) : qualify(namespace, target);
      return !tree.tasks.has(name);
    })
    .map(({ caller, target }) => `task "${caller}" calls "${target}", which does not exist`);
}
