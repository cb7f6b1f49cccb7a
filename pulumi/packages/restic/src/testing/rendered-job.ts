import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

type Manifest = Record<string, any>;

/** The pod spec of a rendered Job, CronJob or workload. */
export function podSpecOf(manifest: Manifest): Manifest {
  return (manifest.kind === "CronJob" ? manifest.spec.jobTemplate.spec.template : manifest.spec.template)
    .spec;
}

/** A container's plain variables, as rendered (references to Secrets left out). */
export function plainEnv(container: Manifest): Record<string, string> {
  return Object.fromEntries(
    (container.env as Manifest[])
      .filter((variable) => variable.value !== undefined)
      .map((variable) => [variable.name, variable.value as string]),
  );
}

/** Writes a bundle's files into a directory, as its ConfigMap mount holds them. */
export async function writeBundle(files: Record<string, string>, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/**
 * A rendered value on this machine: a path under one of `paths`' keys (alone, or as the value of an
 * option: `--datadir=<path>`) is moved to the local directory or file it maps to.
 */
export function movedPath(value: string, paths: Record<string, string>): string {
  const option = /^--[A-Za-z0-9-]+=/.exec(value)?.[0] ?? "";
  const path = value.slice(option.length);
  const prefix = Object.keys(paths)
    .sort((a, b) => b.length - a.length)
    .find((candidate) => path === candidate || path.startsWith(`${candidate}/`));
  return prefix === undefined ? value : `${option}${paths[prefix]}${path.slice(prefix.length)}`;
}

/**
 * A job's variables on this machine: each rendered value that is a path under one of `paths`' keys
 * is moved to the local directory or file it maps to; `overrides` replace or add variables.
 */
export function localEnv(
  rendered: Record<string, string>,
  paths: Record<string, string>,
  overrides: Record<string, string>,
): NodeJS.ProcessEnv {
  const moved = Object.fromEntries(
    Object.entries(rendered).map(([name, value]) => [name, movedPath(value, paths)]),
  );
  return { PATH: process.env.PATH, ...moved, ...overrides };
}
