import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EnvValueFrom } from "./config-map";
import type { PodVolumes, VolumeMountArgs } from "./volumes";

/** An environment value: plain text, or a `secretKeyRef`/`configMapKeyRef`. */
export type EnvValue = pulumi.Input<string> | EnvValueFrom;

/** A port the container listens on. */
export interface ContainerPortArgs {
  /** The port's name, which Services and policies refer to (for example `http`). */
  name: string;
  /** The port number inside the container. */
  port: number;
  /** `TCP` by default. */
  protocol?: "TCP" | "UDP";
}

/** A health probe: exactly one of `httpGet`, `tcpSocket` or `exec`. */
export interface ProbeArgs {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

/**
 * The container's security settings. By default it may not escalate privileges and holds no Linux
 * capability, as Pod Security `restricted` requires.
 */
export interface ContainerSecurityArgs {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  /**
   * Linux capabilities to add and drop, for example `{ add: ["NET_ADMIN"] }` (added back after
   * dropping all). `restricted` allows adding NET_BIND_SERVICE only, `baseline` the runtime's
   * defaults only.
   * @default { drop: ["ALL"] }
   */
  capabilities?: { add?: string[]; drop?: string[] };
}

/** A memory quantity in mebibytes or gibibytes, for example `"128Mi"`. */
export type MemoryQuantity = `${number}Mi` | `${number}Gi`;
/** A CPU quantity in millicores, for example `"100m"` (a tenth of a core). */
export type CpuQuantity = `${number}m`;

/**
 * Compute resources of a container: what the scheduler reserves for it on the node, and the
 * ceiling that keeps it from taking the memory (and, where throttling is harmless, the CPU) of
 * everything else on the single node, the API server's k3s process included.
 */
export interface ResourcesArgs {
  /** Reserved on the node; the container's share of the CPU when the node is busy. */
  requests: { cpu: CpuQuantity; memory: MemoryQuantity };
  /**
   * `memory`: the container is OOM-killed above it. `cpu`: throttled above it; set it only where a
   * slower container harms no one waiting for it (jobs, helpers), not on request-serving processes.
   */
  limits: { memory: MemoryQuantity; cpu?: CpuQuantity };
}

export interface ContainerArgs {
  /** The container's name; the workload's name for its main container. */
  name?: string;
  /** The image, pinned by tag or digest (see `@infra/core` versions). */
  image: string;
  /** Replaces the image's entrypoint. */
  command?: pulumi.Input<string>[];
  /** Arguments to the entrypoint. */
  args?: pulumi.Input<string>[];
  /** Environment variables, in plain text or read from Secret/ConfigMap keys. */
  env?: Record<string, EnvValue>;
  /** Ports the container listens on. */
  ports?: ContainerPortArgs[];
  /** What to mount: PVCs, ConfigMaps, Secrets, emptyDirs, host paths (objects, not names). */
  volumeMounts?: VolumeMountArgs[];
  /**
   * Compute resources. Optional here only so that the kit above (the app kit, the script pods)
   * can supply its own default; synth fails any container rendered without a memory limit.
   */
  resources?: ResourcesArgs;
  /** Security settings. */
  securityContext?: ContainerSecurityArgs;
  readinessProbe?: ProbeArgs;
  livenessProbe?: ProbeArgs;
  startupProbe?: ProbeArgs;
  /** The working directory. */
  workingDir?: string;
}

function isEnvValueFrom(value: EnvValue): value is EnvValueFrom {
  return (
    typeof value === "object" && value !== null && !pulumi.Output.isInstance(value) && "valueFrom" in value
  );
}

function env(values: Record<string, EnvValue>): k8s.types.input.core.v1.EnvVar[] {
  return Object.entries(values).map(([name, value]) =>
    isEnvValueFrom(value) ? { name, valueFrom: value.valueFrom } : { name, value },
  );
}

function probe(args: ProbeArgs): k8s.types.input.core.v1.Probe {
  const handlers = [args.httpGet, args.tcpSocket, args.exec].filter((handler) => handler !== undefined);
  if (handlers.length !== 1) {
    throw new Error("A probe needs exactly one of httpGet, tcpSocket or exec");
  }
  return {
    ...(args.httpGet ? { httpGet: { path: args.httpGet.path, port: args.httpGet.port } } : {}),
    ...(args.tcpSocket ? { tcpSocket: { port: args.tcpSocket.port } } : {}),
    ...(args.exec ? { exec: { command: args.exec.command } } : {}),
    ...(args.initialDelaySeconds === undefined ? {} : { initialDelaySeconds: args.initialDelaySeconds }),
    ...(args.periodSeconds === undefined ? {} : { periodSeconds: args.periodSeconds }),
    ...(args.timeoutSeconds === undefined ? {} : { timeoutSeconds: args.timeoutSeconds }),
    ...(args.failureThreshold === undefined ? {} : { failureThreshold: args.failureThreshold }),
  };
}

function securityContext(args: ContainerSecurityArgs = {}): k8s.types.input.core.v1.SecurityContext {
  const capabilities = args.capabilities ?? {};
  return {
    allowPrivilegeEscalation: args.allowPrivilegeEscalation ?? args.privileged ?? false,
    ...(args.privileged === undefined ? {} : { privileged: args.privileged }),
    ...(args.runAsUser === undefined ? {} : { runAsUser: args.runAsUser }),
    ...(args.runAsGroup === undefined ? {} : { runAsGroup: args.runAsGroup }),
    ...(args.runAsNonRoot === undefined ? {} : { runAsNonRoot: args.runAsNonRoot }),
    ...(args.readOnlyRootFilesystem === undefined
      ? {}
      : { readOnlyRootFilesystem: args.readOnlyRootFilesystem }),
    capabilities: {
      ...(capabilities.add ? { add: capabilities.add } : {}),
      drop: capabilities.drop ?? ["ALL"],
    },
  };
}

function resources(args: ResourcesArgs): k8s.types.input.core.v1.ResourceRequirements {
  return { requests: { ...args.requests }, limits: { ...args.limits } };
}

/** Builds a container spec, declaring the volumes it mounts in `volumes`. */
export function buildContainer(
  args: ContainerArgs,
  defaultName: string,
  volumes: PodVolumes,
): k8s.types.input.core.v1.Container {
  return {
    name: args.name ?? defaultName,
    image: args.image,
    ...(args.command ? { command: args.command } : {}),
    ...(args.args ? { args: args.args } : {}),
    ...(args.workingDir ? { workingDir: args.workingDir } : {}),
    ...(args.env ? { env: env(args.env) } : {}),
    ...(args.ports
      ? {
          ports: args.ports.map((port) => ({
            name: port.name,
            containerPort: port.port,
            protocol: port.protocol ?? "TCP",
          })),
        }
      : {}),
    ...(args.volumeMounts ? { volumeMounts: volumes.mount(args.volumeMounts) } : {}),
    ...(args.resources ? { resources: resources(args.resources) } : {}),
    ...(args.readinessProbe ? { readinessProbe: probe(args.readinessProbe) } : {}),
    ...(args.livenessProbe ? { livenessProbe: probe(args.livenessProbe) } : {}),
    ...(args.startupProbe ? { startupProbe: probe(args.startupProbe) } : {}),
    securityContext: securityContext(args.securityContext),
  };
}
