import type { EnvValue, Mountable, VolumeMountArgs } from "@infra/k8s";

/** Where a bundle's files (its scripts and the generated runner) appear in the container. */
export const scriptsDir = "/opt/scripts";
/** Where the packages' files are copied; its `bin` directory is put first on the scripts' PATH. */
export const toolsDir = "/opt/tools";
/** The generated runner's file name in a bundle (no environment may use it). */
export const runnerFile = "run.sh";
/**
 * The writable scratch of every script pod, whose root filesystem is read-only: temporary files
 * (`mktemp`) and the home directory (`HOME`), each an emptyDir that lives as long as the pod.
 */
export const tmpDir = "/tmp";
export const homeDir = "/home/scripts";

/**
 * Files taken from a pinned image before the scripts run: an init container copies them into the
 * tools directory, so nothing is downloaded at run time and the base image needs no package manager.
 * The files must work in any base image (static binaries, data files).
 */
export interface ToolPackage {
  /** A DNS label naming the copy container (`tools-<name>`). */
  name: string;
  /** The image the files come from, pinned (see `@infra/core` versions). */
  image: string;
  /** Absolute path in the image → path under the tools directory, for example `bin/restic`. */
  files: Record<string, string>;
}

/**
 * What a group of scripts needs to run: the scripts, the tools and image they call, their
 * settings, their volumes, and optionally a setup and a cleanup script around whatever runs.
 */
export interface ScriptEnvironment {
  /** What the environment is (a DNS label, used in error messages): `restic`, `postgresql-hooks`... */
  name: string;
  /** Files of the bundle, by file name; all of a bundle's files share one directory. */
  scripts?: Record<string, string>;
  /** Tools copied in from pinned images (on PATH). */
  packages?: ToolPackage[];
  /** The image whose programs the scripts call (a database's client tools); at most one per bundle. */
  image?: string;
  /** A file of `scripts` run before the bundle's script; if it fails, nothing after it runs. */
  setup?: string;
  /**
   * A file of `scripts` run after the bundle's script, even when it or a later setup failed. It
   * runs only if this environment's setup started (or it has none).
   */
  cleanup?: string;
  /** Environment variables of the container. */
  env?: Record<string, EnvValue>;
  /** Volumes the scripts read or write, where they mount. */
  mounts?: VolumeMountArgs[];
}

const fileName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const safePath = /^[A-Za-z0-9._/-]+$/;

function isInlineVolume(volume: Mountable): boolean {
  const kind = (volume as { kind?: unknown }).kind;
  return kind === "emptyDir" || kind === "hostPath";
}

// A mount is the same when it mounts the same object (or an equal emptyDir/hostPath) the same way.
function sameMount(a: VolumeMountArgs, b: VolumeMountArgs): boolean {
  const sameVolume =
    a.volume === b.volume ||
    (isInlineVolume(a.volume) &&
      isInlineVolume(b.volume) &&
      JSON.stringify(a.volume) === JSON.stringify(b.volume));
  return (
    sameVolume && a.subPath === b.subPath && a.readOnly === b.readOnly && a.defaultMode === b.defaultMode
  );
}

/** The environments of a bundle, merged; every conflict is an error that names both environments. */
export interface MergedEnvironments {
  scripts: Record<string, string>;
  packages: ToolPackage[];
  image?: string;
  /** One entry per environment, in order: its setup file, or "" when it has none. */
  setups: string[];
  /** One entry per environment, in order: its cleanup file, or "" when it has none. */
  cleanups: string[];
  env: Record<string, EnvValue>;
  mounts: VolumeMountArgs[];
}

function checkEnvironment(environment: ScriptEnvironment): void {
  const where = `script environment "${environment.name}"`;
  if (!dnsLabel.test(environment.name)) throw new Error(`${where}: the name must be a DNS label`);
  for (const name of Object.keys(environment.scripts ?? {})) {
    if (!fileName.test(name)) throw new Error(`${where}: "${name}" is not a plain file name`);
    if (name === runnerFile) throw new Error(`${where}: "${runnerFile}" is the bundle's runner`);
  }
  for (const role of ["setup", "cleanup"] as const) {
    const file = environment[role];
    if (file !== undefined && environment.scripts?.[file] === undefined) {
      throw new Error(`${where}: its ${role} "${file}" is not one of its scripts`);
    }
  }
  for (const pkg of environment.packages ?? []) {
    if (!dnsLabel.test(pkg.name)) throw new Error(`${where}: package "${pkg.name}" needs a DNS label name`);
    for (const [from, to] of Object.entries(pkg.files)) {
      const valid =
        from.startsWith("/") &&
        safePath.test(from) &&
        safePath.test(to) &&
        !to.startsWith("/") &&
        !to.split("/").includes("..");
      if (!valid) throw new Error(`${where}: package "${pkg.name}" cannot copy "${from}" to "${to}"`);
    }
  }
  for (const mount of environment.mounts ?? []) {
    if ([scriptsDir, toolsDir, tmpDir, homeDir].includes(mount.mountPath)) {
      throw new Error(`${where}: ${mount.mountPath} is reserved for the bundle`);
    }
  }
}

/** Merges environments in order; conflicting definitions of a file, tool, image, variable or mount fail. */
export function mergeEnvironments(environments: readonly ScriptEnvironment[]): MergedEnvironments {
  if (environments.length === 0) throw new Error("A script bundle needs at least one environment");
  const merged: MergedEnvironments = {
    scripts: {},
    packages: [],
    setups: [],
    cleanups: [],
    env: {},
    mounts: [],
  };
  const owners = new Map<string, string>();
  const conflict = (what: string, name: string, environment: string): never => {
    const subject = name === "" ? `the ${what}` : `${what} "${name}"`;
    throw new Error(
      `Script environments "${owners.get(`${what}:${name}`)}" and "${environment}" define ${subject} differently`,
    );
  };
  for (const environment of environments) {
    checkEnvironment(environment);
    const own = (what: string, name: string) => {
      if (!owners.has(`${what}:${name}`)) owners.set(`${what}:${name}`, environment.name);
    };
    for (const [name, content] of Object.entries(environment.scripts ?? {})) {
      const existing = merged.scripts[name];
      if (existing !== undefined && existing !== content) conflict("file", name, environment.name);
      merged.scripts[name] = content;
      own("file", name);
    }
    for (const pkg of environment.packages ?? []) {
      const existing = merged.packages.find((candidate) => candidate.name === pkg.name);
      if (existing && JSON.stringify(existing) !== JSON.stringify(pkg)) {
        conflict("package", pkg.name, environment.name);
      }
      if (!existing) merged.packages.push(pkg);
      own("package", pkg.name);
    }
    if (environment.image !== undefined) {
      if (merged.image !== undefined && merged.image !== environment.image) {
        conflict("image", "", environment.name);
      }
      merged.image = environment.image;
      own("image", "");
    }
    for (const [name, value] of Object.entries(environment.env ?? {})) {
      const existing = merged.env[name];
      if (existing !== undefined && existing !== value) conflict("variable", name, environment.name);
      merged.env[name] = value;
      own("variable", name);
    }
    for (const mount of environment.mounts ?? []) {
      const existing = merged.mounts.find((candidate) => candidate.mountPath === mount.mountPath);
      if (existing && !sameMount(existing, mount)) conflict("mount", mount.mountPath, environment.name);
      if (!existing) merged.mounts.push(mount);
      own("mount", mount.mountPath);
    }
    merged.setups.push(environment.setup ?? "");
    merged.cleanups.push(environment.cleanup ?? "");
  }
  return merged;
}
