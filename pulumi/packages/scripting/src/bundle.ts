import { images } from "@infra/core";
import {
  type ContainerArgs,
  createConfigMap,
  type EnvValue,
  emptyDir,
  type NamespacedObjectArgs,
  type PodArgs,
  type ResourcesArgs,
  type VolumeMountArgs,
} from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import {
  mergeEnvironments,
  runnerFile,
  type ScriptEnvironment,
  scriptsDir,
  type ToolPackage,
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
  resources?: ResourcesArgs;
}

/**
 * The containers of a pod that runs one script of a bundle through its runner: the main
 * container (the bundle's image, variables and mounts, the ConfigMap at /opt/scripts) and one init
 * container per package, copying its files into /opt/tools first. Spread it into `createJob` or
 * `createCronJob`: `createJob({ name, namespace, ...scriptPod(bundle, { script: "restore.sh" }) })`.
 */
export function scriptPod(
  bundle: ScriptBundle,
  options: ScriptPodOptions,
): Required<Pick<PodArgs, "container" | "initContainers">> {
  if (bundle.files[options.script] === undefined) {
    throw new Error(`Script bundle "${bundle.name}" has no file "${options.script}"`);
  }
  for (const name of Object.keys(options.env ?? {})) {
    if (bundle.env[name] !== undefined) {
      throw new Error(`Variable ${name} is already set by script bundle "${bundle.name}"`);
    }
  }
  const toolsMount = bundle.packages.length > 0 ? [{ volume: tools, mountPath: toolsDir }] : [];
  const container: ContainerArgs = {
    ...(options.name ? { name: options.name } : {}),
    image: bundle.image,
    command: ["/bin/bash", `${scriptsDir}/${runnerFile}`, options.script, ...(options.args ?? [])],
    env: { ...bundle.env, ...options.env },
    volumeMounts: [
      { volume: bundle.configMap, mountPath: scriptsDir },
      ...toolsMount,
      ...bundle.mounts,
      ...(options.mounts ?? []),
    ],
    ...(options.resources ? { resources: options.resources } : {}),
  };
  const initContainers: ContainerArgs[] = bundle.packages.map((pkg) => ({
    name: `tools-${pkg.name}`,
    image: pkg.image,
    command: ["/bin/sh", "-c", copyCommand(pkg)],
    volumeMounts: [{ volume: tools, mountPath: toolsDir }],
  }));
  return { container, initContainers };
}
