import { images } from "@infra/core";
import {
  type ContainerArgs,
  type ContainerSecurityArgs,
  createConfigMap,
  type EnvValue,
  emptyDir,
  type NamespacedObjectArgs,
  type PodArgs,
  type PodSecurityArgs,
  type ResourcesArgs,
  type VolumeMountArgs,
} from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import {
  homeDir,
  mergeEnvironments,
  runnerFile,
  type ScriptEnvironment,
  scriptsDir,
  type ToolPackage,
  tmpDir,
  toolsDir,
} from "./environment";
import { renderRunner } from "./runner";

export interface ScriptBundleArgs extends Omit<NamespacedObjectArgs, "annotations"> {
  /** Merged in order: setups run in this order, cleanups in reverse. */
  environments: ScriptEnvironment[];
}

/** Environments merged into what a container needs: one ConfigMap with every file, and settings. */
export interface ScriptBundle {
  name: string;
  /** Holds the environments' files and the generated runner (`run.sh`). */
  configMap: k8s.core.v1.ConfigMap;
  /** The ConfigMap's content: file name → text. */
  files: Record<string, string>;
  /** The image the containers run: the one an environment asks for, else a plain Debian. */
  image: string;
  packages: ToolPackage[];
  env: Record<string, EnvValue>;
  mounts: VolumeMountArgs[];
}

/**
 * Merges environments into a bundle: a ConfigMap holding their scripts and a runner that runs one
 * of them between the environments' setup and cleanup scripts (see `renderRunner`), plus the
 * image, tools, variables and mounts a container of the bundle gets (see `scriptPod`).
 */
export function createScriptBundle(args: ScriptBundleArgs): ScriptBundle {
  const merged = mergeEnvironments(args.environments);
  const files = {
    ...merged.scripts,
    [runnerFile]: renderRunner({
      bundle: args.name,
      setups: merged.setups,
      cleanups: merged.cleanups,
      tools: merged.packages.length > 0,
    }),
  };
  const configMap = createConfigMap({
    name: args.name,
    namespace: args.namespace,
    data: files,
    ...(args.labels ? { labels: args.labels } : {}),
    ...(args.options ? { options: args.options } : {}),
  });
  return {
    name: args.name,
    configMap,
    files,
    image: merged.image ?? images.scriptBase,
    packages: merged.packages,
    env: merged.env,
    mounts: merged.mounts,
  };
}

const tools = emptyDir("tools");
const scratchMounts: VolumeMountArgs[] = [
  { volume: emptyDir("tmp"), mountPath: tmpDir },
  { volume: emptyDir("home"), mountPath: homeDir },
];

/**
 * Who every container of a script pod runs as: a user and group other than root (the
 * namespace's Pod Security `restricted` level refuses root, and a script that escapes gets no
 * more than that user can do). The group is the pod's `fsGroup` too: the kubelet gives it the
 * pod's Secret files (read-only for the group: `defaultMode` 0400 becomes 0440) and the volumes
 * whose plugin manages ownership (k3s's local-path volumes, most block storage), so the scripts
 * read their credentials and write into a fresh volume's root.
 */
export interface RunAs {
  /** A user id other than 0. */
  user: number;
  /** A group id other than 0. */
  group: number;
}

function checkRunAs(bundle: string, runAs: RunAs): void {
  for (const [what, id] of Object.entries(runAs)) {
    if (!Number.isInteger(id) || id <= 0) {
      throw new Error(
        `Script bundle "${bundle}": runAs.${what} must be an id other than root (0), got ${id}`,
      );
    }
  }
}

/** The pod security of a pod running as `runAs`: never root, the group owning its mounts. */
export function runAsPodSecurity(runAs: RunAs): PodSecurityArgs {
  return { runAsUser: runAs.user, runAsGroup: runAs.group, fsGroup: runAs.group, runAsNonRoot: true };
}

// Nothing a script does needs a capability or a writable image: what it writes goes to the
// emptyDirs and the volumes.
const containerSecurity: ContainerSecurityArgs = {
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * The compute resources of a script's container when its caller sets none: room for restic's index
 * and a private database server beside it (the offline restore and final backup start one), and a
 * CPU limit, since a job that runs slower harms no one waiting for it.
 */
export const scriptResources: ResourcesArgs = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { memory: "1Gi", cpu: "1000m" },
};

/** The init containers that copy a package's files: a `cp` of a few binaries. */
const copyResources: ResourcesArgs = {
  requests: { cpu: "10m", memory: "16Mi" },
  limits: { memory: "128Mi", cpu: "500m" },
};

// Paths are checked by mergeEnvironments (letters, digits, ".", "_", "/", "-"): safe to quote.
function copyCommand(pkg: ToolPackage): string {
  const targets = Object.values(pkg.files).map((to) => `${toolsDir}/${to}`);
  const directories = [...new Set(targets.map((target) => target.slice(0, target.lastIndexOf("/"))))];
  return [
    "set -e",
    `mkdir -p ${directories.map((dir) => `'${dir}'`).join(" ")}`,
    ...Object.entries(pkg.files).map(([from, to]) => `cp '${from}' '${toolsDir}/${to}'`),
  ].join("\n");
}

export interface ScriptPodOptions {
  /** The file of the bundle to run. */
  script: string;
  /** Its arguments. */
  args?: string[];
  /** The container's name; the object's name by default. */
  name?: string;
  /** More variables for this container only; redefining a bundle variable is an error. */
  env?: Record<string, EnvValue>;
  /** More mounts for this container only. */
  mounts?: VolumeMountArgs[];
  /**
   * The main container's compute resources.
   * @default scriptResources
   */
  resources?: ResourcesArgs;
  /** The user and group of every container of the pod (see `RunAs`). */
  runAs: RunAs;
}

/**
 * The containers of a pod that runs one script of a bundle through its runner: the main
 * container (the bundle's image, variables and mounts, the ConfigMap at /opt/scripts) and one init
 * container per package, copying its files into /opt/tools first; all of them as `runAs`, without
 * capabilities, on a read-only root filesystem with emptyDirs at /tmp and `HOME`. Spread it into
 * `createJob` or `createCronJob`:
 * `createJob({ name, namespace, ...scriptPod(bundle, { script: "restore.sh", runAs }) })`.
 */
export function scriptPod(
  bundle: ScriptBundle,
  options: ScriptPodOptions,
): Required<Pick<PodArgs, "container" | "initContainers" | "podSecurity">> {
  if (bundle.files[options.script] === undefined) {
    throw new Error(`Script bundle "${bundle.name}" has no file "${options.script}"`);
  }
  checkRunAs(bundle.name, options.runAs);
  for (const name of Object.keys(options.env ?? {})) {
    if (bundle.env[name] !== undefined) {
      throw new Error(`Variable ${name} is already set by script bundle "${bundle.name}"`);
    }
  }
  if (bundle.env.HOME !== undefined || options.env?.HOME !== undefined) {
    throw new Error(`Script bundle "${bundle.name}": HOME is the pod's own home directory, ${homeDir}`);
  }
  const toolsMount = bundle.packages.length > 0 ? [{ volume: tools, mountPath: toolsDir }] : [];
  const container: ContainerArgs = {
    ...(options.name ? { name: options.name } : {}),
    image: bundle.image,
    command: ["/bin/bash", `${scriptsDir}/${runnerFile}`, options.script, ...(options.args ?? [])],
    env: { ...bundle.env, HOME: homeDir, ...options.env },
    volumeMounts: [
      { volume: bundle.configMap, mountPath: scriptsDir },
      ...toolsMount,
      ...scratchMounts,
      ...bundle.mounts,
      ...(options.mounts ?? []),
    ],
    resources: options.resources ?? scriptResources,
    securityContext: containerSecurity,
  };
  // They only copy files out of their image, which needs no more than reading it.
  const initContainers: ContainerArgs[] = bundle.packages.map((pkg) => ({
    name: `tools-${pkg.name}`,
    image: pkg.image,
    command: ["/bin/sh", "-c", copyCommand(pkg)],
    volumeMounts: [{ volume: tools, mountPath: toolsDir }],
    securityContext: containerSecurity,
    resources: copyResources,
  }));
  return { container, initContainers, podSecurity: runAsPodSecurity(options.runAs) };
}
