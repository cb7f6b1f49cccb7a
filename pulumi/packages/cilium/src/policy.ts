import { namespacedResourceName, objectLabels, type Workload } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  dnsVisibilityRule,
  endpointSelector,
  type Rule,
  translateRule,
  usesFqdns,
  workloadSelector,
} from "./rules";

/**
 * A policy's rules: known when the program is written, or computed from another stack's outputs
 * (the backup storage hosts `shared` exports). Computed rules hold plain data only, no workloads.
 */
export type Rules = Rule[] | pulumi.Output<Rule[]>;

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
  ingress?: Rules;
  /** Traffic the pods may send. */
  egress?: Rules;
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

type PolicyArgs = NamespacedPolicyArgs | ClusterwidePolicyArgs;
/** Policy arguments whose rules are known (distributes over the two kinds of policy). */
type KnownRules<T> = T extends unknown
  ? Omit<T, "ingress" | "egress"> & { ingress?: Rule[]; egress?: Rule[] }
  : never;

/** The `spec` of a Cilium policy whose rules are known (exported for tests and analysis). */
export function policySpec(args: KnownRules<PolicyArgs>): Record<string, unknown> {
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

// Computed rules resolve inside an apply; rules known now are translated at once, so a mistake
// in them fails where the policy is written. Known rules never pass through `pulumi.output`,
// which would try to unwrap the workloads they name.
function specOf(args: PolicyArgs): pulumi.Input<Record<string, unknown>> {
  const { ingress, egress } = args;
  if (!pulumi.Output.isInstance(ingress) && !pulumi.Output.isInstance(egress)) {
    return policySpec({ ...args, ingress, egress } as KnownRules<PolicyArgs>);
  }
  const resolve = (rules: Rules | undefined): pulumi.Output<Rule[] | undefined> =>
    pulumi.Output.isInstance(rules) ? rules : (pulumi.output(undefined) as pulumi.Output<undefined>);
  return resolve(ingress).apply((ingressRules) =>
    resolve(egress).apply((egressRules) =>
      policySpec({
        ...args,
        ingress: pulumi.Output.isInstance(ingress) ? ingressRules : ingress,
        egress: pulumi.Output.isInstance(egress) ? egressRules : egress,
      } as KnownRules<PolicyArgs>),
    ),
  );
}

/**
 * Creates a Cilium policy. With enforcement `always`, a pod talks to nothing a policy does not
 * allow; each policy adds allowed paths, in the direction(s) it lists.
 */
export function createPolicy(args: PolicyArgs): k8s.apiextensions.CustomResource {
  const labels = objectLabels(args.name);
  if ("namespace" in args) {
    return new k8s.apiextensions.CustomResource(
      namespacedResourceName(args),
      {
        apiVersion: "cilium.io/v2",
        kind: "CiliumNetworkPolicy",
        metadata: { name: args.name, namespace: args.namespace.metadata.name, labels },
        spec: specOf(args),
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
      spec: specOf(args),
    },
    { ...args.options, provider: args.provider },
  );
}
