import { kubernetesVersion } from "@infra/core";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { objectLabels, registerNamespace } from "./metadata";

/**
 * The Pod Security Standards a namespace holds its pods to
 * (https://kubernetes.io/docs/concepts/security/pod-security-standards/): `restricted` (non-root,
 * seccomp, no privilege escalation, every capability dropped but NET_BIND_SERVICE, only
 * configMap/secret/emptyDir/PVC-like volumes), `baseline` (no host namespaces, host paths, host
 * ports or privileged containers, default capabilities only, safe sysctls only), `privileged`
 * (anything: only for a named workload that needs host access).
 */
export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

/** The prefix of Pod Security admission's namespace labels. */
export const podSecurityLabelPrefix = "pod-security.kubernetes.io/";

/**
 * The Pod Security admission labels of a namespace at `level`, each mode pinned to the servers'
 * Kubernetes minor. `enforce` rejects violating pods; `warn` and `audit` are evaluated on the
 * workload objects too (Deployments, Jobs, CronJobs), so a violating template is reported when it
 * is applied rather than only by a ReplicaSet that silently fails to create pods
 * (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return Object.fromEntries(
    (["enforce", "audit", "warn"] as const).flatMap((mode) => [
      [`${podSecurityLabelPrefix}${mode}`, level],
      [`${podSecurityLabelPrefix}${mode}-version`, kubernetesVersion],
    ]),
  );
}

export interface NamespaceArgs {
  /** The namespace's name. */
  name: string;
  /**
   * The Kubernetes provider of the server's cluster. Every object created in this namespace
   * inherits it, so nothing falls back to the ambient kubeconfig.
   */
  provider: k8s.Provider;
  /**
   * The Pod Security Standard its pods are held to (enforced, audited and warned about). Choose a
   * looser level only for a named workload that needs it, and say which and why where you do.
   * @default "restricted"
   */
  podSecurity?: PodSecurityLevel;
  /** Extra labels; the Pod Security ones come from `podSecurity` only. */
  labels?: Record<string, string>;
  /** Extra Pulumi options. */
  options?: Omit<pulumi.CustomResourceOptions, "provider">;
}

/** Creates a namespace bound to the server's Kubernetes provider, with its Pod Security labels. */
export function createNamespace(args: NamespaceArgs): k8s.core.v1.Namespace {
  const podSecurityLabel = Object.keys(args.labels ?? {}).find((label) =>
    label.startsWith(podSecurityLabelPrefix),
  );
  if (podSecurityLabel) {
    throw new Error(
      `Namespace ${args.name}: label ${podSecurityLabel} comes from the podSecurity option, not from labels`,
    );
  }
  const labels = { ...args.labels, ...podSecurityLabels(args.podSecurity ?? "restricted") };
  return registerNamespace(
    new k8s.core.v1.Namespace(
      args.name,
      { metadata: { name: args.name, labels: objectLabels(args.name, labels) } },
      { ...args.options, provider: args.provider },
    ),
    args.name,
  );
}

// The reads made so far, by owner (the parent, else the provider) and name: the engine refuses a
// second read of one name under one parent (two resources with one URN).
const existingNamespaces = new WeakMap<object, Map<string, k8s.core.v1.Namespace>>();

/**
 * Reads a namespace that the cluster already has (for example `kube-system`), so objects can be
 * created in it through the server's provider without Pulumi owning the namespace itself. With a
 * parent (an app's component), the read and what is created in it show under that parent. Read
 * once per name and parent, however many helpers ask for it.
 */
export function getExistingNamespace(
  name: string,
  provider: k8s.Provider,
  parent?: pulumi.Resource,
): k8s.core.v1.Namespace {
  const owner = parent ?? provider;
  const known = existingNamespaces.get(owner) ?? new Map<string, k8s.core.v1.Namespace>();
  existingNamespaces.set(owner, known);
  let namespace = known.get(name);
  if (!namespace) {
    namespace = registerNamespace(
      k8s.core.v1.Namespace.get(name, name, { provider, ...(parent ? { parent } : {}) }),
      name,
    );
    known.set(name, namespace);
  }
  return namespace;
}
