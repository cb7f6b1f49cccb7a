import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describeUnknownKey, nearest, readServers, serversDirAbove } from "@infra/core";
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from "yaml";
import type { ProjectInfo } from "../projects";

/** A value still to be replaced by the user's own, where it is written. */
export interface ExampleValue {
  /** The file, relative to the repository. */
  file: string;
  /** Its line in the file. */
  line: number;
  /** The key, as `pulumi config` or the file names it. */
  key: string;
  /** A `secure:` placeholder: set it with `pulumi config set --secret`. */
  secret: boolean;
  /** The stack whose files hold it; none for the site's, which every stack carries. */
  stack?: string;
}

// A value marked EXAMPLE, or a name reserved for examples (RFC 2606) that no real setup uses.
const exampleValue = /EXAMPLE|(^|[.@/])example\.(com|org|net|lan)(\b|$)|example-tailnet|^0123456789abcdef/;

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/** Every scalar of a YAML or JSON document that is an example, with its key path and line. */
function examplesIn(
  file: string,
  root: string,
  keyOf: (path: string[]) => string,
  stack?: string,
): ExampleValue[] {
  const text = readFileSync(file, "utf8");
  const found: ExampleValue[] = [];
  const where = (node: YamlNode) => ({
    file: relative(root, file),
    line: lineOf(text, node.range?.[0] ?? 0),
    ...(stack ? { stack } : {}),
  });
  const walk = (node: YamlNode | null | undefined, path: string[]): void => {
    if (isMap(node)) {
      // `{ secure: v1:... }` is one secret value: the key it belongs to is the example.
      const secure =
        node.items.length === 1 && isScalar(node.items[0]?.key) && node.items[0]?.key.value === "secure";
      if (secure && isScalar(node.items[0]?.value) && exampleValue.test(String(node.items[0]?.value.value))) {
        found.push({ ...where(node), key: keyOf(path), secret: true });
        return;
      }
      for (const item of node.items) {
        const key = isScalar(item.key) ? String(item.key.value) : "?";
        walk(item.value as YamlNode, [...path, key]);
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) walk(item as YamlNode, [...path, String(index)]);
    } else if (isScalar(node) && typeof node.value === "string" && exampleValue.test(node.value)) {
      found.push({ ...where(node), key: keyOf(path), secret: false });
    }
  };
  walk(parseDocument(text).contents as YamlNode, []);
  return found;
}

/**
 * The example values a deployment of `stacks` would still carry: in the site's and the servers'
 * descriptions and in every stack file of those stacks (comments never count).
 */
export function exampleValues(
  projects: Iterable<ProjectInfo>,
  stacks: string[],
  projectsDir: string,
): ExampleValue[] {
  // As checkServers: projects outside a repository with servers/ describe no server.
  const serversDir = serversDirAbove(projectsDir);
  const root = serversDir ? join(serversDir, "..") : projectsDir;
  const json = (path: string[]) => path.join(".");
  const found: ExampleValue[] = [];
  if (serversDir) {
    found.push(...examplesIn(join(serversDir, "site.json"), root, json));
    for (const stack of stacks) {
      const server = join(serversDir, `${stack}.json`);
      if (existsSync(server)) found.push(...examplesIn(server, root, json, stack));
    }
  }
  for (const project of projects) {
    for (const stack of stacks) {
      const file = join(project.dir, `Pulumi.${stack}.yaml`);
      if (!existsSync(file)) continue;
      // config: { "<namespace>:<key>": value }: the config key, then the path inside its value.
      found.push(
        ...examplesIn(
          file,
          root,
          (path) => (path[0] === "config" ? path.slice(1).join(".") : path.join(".")),
          stack,
        ),
      );
    }
  }
  return found;
}

/** What an example value is and what to do with it. */
export function exampleText(value: ExampleValue): string {
  return value.secret
    ? `${value.key} is a placeholder secret (pulumi config set --secret)`
    : `${value.key} is an example value`;
}

/** One line per example value: where it is and what to do with it. */
export function describeExampleValue(value: ExampleValue): string {
  return `${value.file}:${value.line}: ${exampleText(value)}`;
}

/** What is wrong with servers/ and the stacks it names, and the stacks that cannot run because of it. */
export interface ServersCheck {
  problems: string[];
  /** Stacks a problem concerns (their `shared` would fail on it): synth skips them. */
  blocked: Map<string, string>;
}

/**
 * What the server descriptions say is wrong (servers/), and stack files of no described server:
 * a stack is named after its server, so `Pulumi.<stack>.yaml` without `servers/<stack>.json`
 * has a typo or belongs to a removed server. Reported once, here, for every stack.
 */
export function checkServers(projects: Iterable<ProjectInfo>, projectsDir: string): ServersCheck {
  // Projects outside a repository with servers/ (a test's copy of fixtures) describe no server.
  const serversDir = serversDirAbove(projectsDir);
  if (!serversDir) return { problems: [], blocked: new Map() };
  const read = readServers(serversDir);
  const problems = [...read.problems];
  const blocked = new Map<string, string>();
  const stacks = new Set<string>();
  for (const project of projects) {
    for (const stack of project.stacks) {
      stacks.add(stack);
      if (read.described.includes(stack)) continue;
      const suggestion = nearest(
        stack,
        read.servers.map((server) => server.name),
      );
      problems.push(
        `${join(project.dir, `Pulumi.${stack}.yaml`)}: no server "${stack}" is described (servers/${stack}.json)` +
          `${suggestion ? `; did you mean ${suggestion}?` : `; describe it with ./run new-server ${stack}`}`,
      );
      blocked.set(stack, `no servers/${stack}.json`);
    }
  }
  for (const stack of stacks) {
    if (!blocked.has(stack) && read.problemsFor(stack).length > 0) {
      blocked.set(stack, "the server descriptions have problems (above)");
    }
  }
  return { problems, blocked };
}

/** Namespaces of providers' own config (`kubernetes:context`...), which no program reads itself. */
const providerNamespaces = new Set([
  "pulumi",
  "kubernetes",
  "cloudflare",
  "tailscale",
  "random",
  "command",
  "terraform",
]);

/**
 * Keys a stack sets for a project that the program never read: a typo (`backup:shedule`) or a
 * setting of another project. Each names the nearest key the program did read in that namespace.
 */
export function checkUnreadConfig(
  project: string,
  stack: string,
  set: string[],
  read: Set<string>,
): string[] {
  const readKeys = [...read];
  return set
    .filter((key) => !read.has(key) && !providerNamespaces.has(key.split(":")[0] ?? ""))
    .map((key) => {
      const [namespace = ""] = key.split(":");
      const candidates = readKeys.filter((candidate) => candidate.startsWith(`${namespace}:`));
      const known = candidates.map((candidate) => candidate.slice(namespace.length + 1)).sort();
      const suggestion = nearest(key.slice(namespace.length + 1), known);
      return describeUnknownKey(`Pulumi.${stack}.yaml of project "${project}": `, {
        path: key,
        known: known.map((name) => `${namespace}:${name}`),
        ...(suggestion ? { suggestion: `${namespace}:${suggestion}` } : {}),
      });
    });
}
