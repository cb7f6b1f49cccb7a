import { namespacedResourceName, objectLabels, type Workload } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  dnsVisibilityRule,
  endpointSelector,
  type Rule,
  translateRule,
  usesFqdns,
  workloadSelector,
} from "./rules";

/** Which pods a policy applies to. */
export type PolicySubject =
  /** The pods of a workload. */
  | { workload: Workload }
  /**
   * Endpoints with these labels (in the policy's namespace, or cluster-wide for a cluster-wide
   * policy). Keys are Cilium label keys: `app`, `k8s:k8s-app`, `reserved:health`...
   */
  | { labels: Record<string, pulumi.Input<string>> }
  /** Every pod in scope. */
  | "all";

interface PolicyArgsBase {
  /** The policy's name. */
  name: string;
  /** What the policy is for, shown by `kubectl describe`. */
  description: string;
  /** The pods it applies to. */
  subject: PolicySubject;
  /** Traffic the pods may receive. */
  ingress?: Rule[];
  /** Traffic the pods may send. */
  egress?: Rule[];
  /** Extra Pulumi options. */
  options?: Omit<pulumi.CustomResourceOptions, "parent" | "provider">;
}

/** A CiliumNetworkPolicy in a namespace (it inherits the namespace's provider). */
export interface NamespacedPolicyArgs extends PolicyArgsBase {
  namespace: k8s.core.v1.Namespace;
}

/** A CiliumClusterwideNetworkPolicy. */
export interface ClusterwidePolicyArgs extends PolicyArgsBase {
  provider: k8s.Provider;
}

function subjectSelector(subject: PolicySubject, clusterwide: boolean): Record<string, unknown> {
  if (subject === "all") return {};
  // Cilium confines a namespaced policy's subject to its namespace, but not a cluster-wide one's:
  // there, a workload's selector alone would also pick same-named pods of every other namespace.
  if ("workload" in subject) {
    return clusterwide ? workloadSelector(subject.workload) : endpointSelector(subject.workload.selector);
  }
  return endpointSelector(subject.labels);
}

/** The `spec` of a Cilium policy for these arguments (exported for tests and analysis). */
export function policySpec(args: NamespacedPolicyArgs | ClusterwidePolicyArgs): Record<string, unknown> {
  const ingress = (args.ingress ?? []).flatMap((rule) => translateRule(rule, "ingress"));
  const egress = (args.egress ?? []).flatMap((rule) => translateRule(rule, "egress"));
  if ((args.egress ?? []).some(usesFqdns)) egress.unshift(dnsVisibilityRule());
  if (ingress.length === 0 && egress.length === 0) {
    throw new Error(`Policy ${args.name} allows nothing: give it ingress or egress rules`);
  }
  return {
    description: args.description,
    endpointSelector: subjectSelector(args.subject, !("namespace" in args)),
    ...(ingress.length > 0 ? { ingress } : {}),
    ...(egress.length > 0 ? { egress } : {}),
  };
}

/**
 * Creates a Cilium policy. With enforcement `always`, a pod talks to nothing a policy does not
 * allow; each policy adds allowed paths, in the direction(s) it lists.
 */
export function createPolicy(
  args: NamespacedPolicyArgs | ClusterwidePolicyArgs,
): k8s.apiextensions.CustomResource {
  const labels = objectLabels(args.name);
  if ("namespace" in args) {
    return new k8s.apiextensions.CustomResource(
      namespacedResourceName(args),
      {
        apiVersion: "cilium.io/v2",
        kind: "CiliumNetworkPolicy",
        metadata: { name: args.name, namespace: args.namespace.metadata.name, labels },
        spec: policySpec(args),
      },
      { ...args.options, parent: args.namespace },
    );
  }
  return new k8s.apiextensions.CustomResource(
    args.name,
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumClusterwideNetworkPolicy",
      metadata: { name: args.name, labels },
      spec: policySpec(args),
    },
    { ...args.options, provider: args.provider },
  );
}
