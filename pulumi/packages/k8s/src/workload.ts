import * as k8s from "@pulumi/kubernetes";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
  selectorLabels,
} from "./metadata";
import { buildPodTemplate, mountsClaim, type PodArgs } from "./pod";

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

export interface WorkloadArgs extends NamespacedObjectArgs, PodArgs {
  /** `Deployment` by default. */
  kind?: WorkloadKind;
  /** Number of pods (Deployment and StatefulSet); 1 by default. */
  replicas?: number;
  /**
   * How a Deployment replaces its pods. `Recreate` (stop, then start) is the default when the
   * pod mounts a PersistentVolumeClaim; use it too for pods that must never run twice at once.
   */
  updateStrategy?: "Recreate" | "RollingUpdate";
}

/** A created workload and what other helpers derive from it. */
export interface Workload {
  kind: WorkloadKind;
  /** The workload's name (also the identity label value). */
  name: string;
  /** The namespace it runs in. */
  namespace: k8s.core.v1.Namespace;
  /** The labels that select its pods: the identity label only. */
  selector: Record<string, string>;
  /** The Kubernetes object. */
  resource: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet | k8s.apps.v1.DaemonSet;
}

/**
 * Creates a Deployment, StatefulSet or DaemonSet whose selector is the identity label derived
 * from its name. A Deployment that mounts a PersistentVolumeClaim is replaced with `Recreate`,
 * since a ReadWriteOnce volume cannot serve two pods during a rolling update.
 */
export function createWorkload(args: WorkloadArgs): Workload {
  const kind = args.kind ?? "Deployment";
  const selector = selectorLabels(args.name);
  const metadata = namespacedMetadata(args);
  const options = namespacedOptions(args);
  const template = buildPodTemplate(args.name, args);
  const replicas = args.replicas ?? 1;
  let resource: Workload["resource"];
  switch (kind) {
    case "Deployment":
      resource = new k8s.apps.v1.Deployment(
        namespacedResourceName(args),
        {
          metadata,
          spec: {
            replicas,
            selector: { matchLabels: selector },
            strategy: { type: args.updateStrategy ?? (mountsClaim(args) ? "Recreate" : "RollingUpdate") },
            template,
          },
        },
        options,
      );
      break;
    case "StatefulSet":
      resource = new k8s.apps.v1.StatefulSet(
        namespacedResourceName(args),
        {
          metadata,
          spec: { replicas, serviceName: args.name, selector: { matchLabels: selector }, template },
        },
        options,
      );
      break;
    case "DaemonSet":
      if (args.replicas !== undefined) throw new Error(`DaemonSet ${args.name} cannot set replicas`);
      resource = new k8s.apps.v1.DaemonSet(
        namespacedResourceName(args),
        { metadata, spec: { selector: { matchLabels: selector }, template } },
        options,
      );
      break;
  }
  return { kind, name: args.name, namespace: args.namespace, selector, resource };
}
