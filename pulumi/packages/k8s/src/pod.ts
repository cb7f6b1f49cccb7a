import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { buildContainer, type ContainerArgs } from "./container";
import { objectLabels } from "./metadata";
import { configMapChecksum, PodVolumes } from "./volumes";

/** Pod-level security settings; the runtime's seccomp profile always applies. */
export interface PodSecurityArgs {
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  /**
   * The kubelet refuses to start a container that would run as root (an image without a numeric
   * non-root user needs `runAsUser`), as Pod Security `restricted` requires. `false` only for a
   * workload that needs root, in a namespace whose level allows it.
   * @default true
   */
  runAsNonRoot?: boolean;
  /** Namespaced sysctls, for example `{ "net.ipv4.ip_forward": "1" }` (unsafe ones must be allowed by the node). */
  sysctls?: Record<string, string>;
}

/** What every pod template (workloads, jobs, cron jobs) can set. */
export interface PodArgs {
  /** The main container; its name defaults to the object's name. */
  container: ContainerArgs;
  /** Containers that run next to the main one, sharing its network namespace. */
  sidecars?: ContainerArgs[];
  /** Containers that run to completion, in order, before the others start. */
  initContainers?: ContainerArgs[];
  /** The service account; without one the pod gets no API token at all. */
  serviceAccount?: k8s.core.v1.ServiceAccount;
  /** Extra pod labels (never part of a selector). */
  podLabels?: Record<string, string>;
  /** Extra pod annotations. */
  podAnnotations?: Record<string, pulumi.Input<string>>;
  /** Pod-level security settings. */
  podSecurity?: PodSecurityArgs;
  /** Use the node's network namespace. */
  hostNetwork?: boolean;
  /** Seconds the pod gets to stop. */
  terminationGracePeriodSeconds?: number;
  /** Node labels the pod must run on. */
  nodeSelector?: Record<string, string>;
  /**
   * Resolve names with these servers only, instead of the cluster DNS (for example a VPN
   * relay whose clients' queries must leave through the tunnel).
   */
  dnsNameservers?: string[];
}

function podSecurityContext(args: PodSecurityArgs = {}): k8s.types.input.core.v1.PodSecurityContext {
  return {
    seccompProfile: { type: "RuntimeDefault" },
    ...(args.runAsUser === undefined ? {} : { runAsUser: args.runAsUser }),
    ...(args.runAsGroup === undefined ? {} : { runAsGroup: args.runAsGroup }),
    ...(args.fsGroup === undefined ? {} : { fsGroup: args.fsGroup }),
    runAsNonRoot: args.runAsNonRoot ?? true,
    ...(args.sysctls
      ? { sysctls: Object.entries(args.sysctls).map(([name, value]) => ({ name, value })) }
      : {}),
  };
}

/**
 * Builds a pod template for an object named `name`: labels with the identity label, every
 * mounted volume declared once, and an annotation per mounted ConfigMap so changing its
 * content rolls the pods out.
 */
export function buildPodTemplate(
  name: string,
  args: PodArgs,
  restartPolicy?: "Always" | "OnFailure" | "Never",
): k8s.types.input.core.v1.PodTemplateSpec {
  const volumes = new PodVolumes();
  const initContainers = (args.initContainers ?? []).map((container, index) =>
    buildContainer(container, `init-${index}`, volumes),
  );
  const containers = [
    buildContainer(args.container, name, volumes),
    ...(args.sidecars ?? []).map((container, index) =>
      buildContainer(container, `sidecar-${index}`, volumes),
    ),
  ];
  const checksums = Object.fromEntries(
    volumes
      .configMaps()
      .map((configMap, index) => [`checksum.infra/config-${index}`, configMapChecksum(configMap)]),
  );
  const annotations = { ...args.podAnnotations, ...checksums };
  return {
    metadata: {
      labels: objectLabels(name, args.podLabels),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      ...(restartPolicy ? { restartPolicy } : {}),
      ...(args.serviceAccount
        ? { serviceAccountName: args.serviceAccount.metadata.name }
        : { automountServiceAccountToken: false }),
      securityContext: podSecurityContext(args.podSecurity),
      ...(args.hostNetwork ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
      ...(args.dnsNameservers ? { dnsPolicy: "None", dnsConfig: { nameservers: args.dnsNameservers } } : {}),
      ...(args.terminationGracePeriodSeconds === undefined
        ? {}
        : { terminationGracePeriodSeconds: args.terminationGracePeriodSeconds }),
      ...(args.nodeSelector ? { nodeSelector: args.nodeSelector } : {}),
      ...(initContainers.length > 0 ? { initContainers } : {}),
      containers,
      ...(volumes.list().length > 0 ? { volumes: volumes.list() } : {}),
    },
  };
}

/** Whether the pod mounts a PersistentVolumeClaim (a Deployment that does must not surge a second pod). */
export function mountsClaim(args: PodArgs): boolean {
  return [args.container, ...(args.sidecars ?? []), ...(args.initContainers ?? [])].some((container) =>
    (container.volumeMounts ?? []).some((mount) =>
      k8s.core.v1.PersistentVolumeClaim.isInstance(mount.volume),
    ),
  );
}
