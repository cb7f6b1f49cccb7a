import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
  objectLabels,
} from "./metadata";

/** One RBAC rule: which verbs on which resources of which API groups. */
export interface PolicyRule {
  /** API groups; `""` is the core group. */
  apiGroups: string[];
  /** Resources, for example `["pods", "pods/log"]`. */
  resources: string[];
  /** Verbs, for example `["get", "list", "watch"]`. */
  verbs: string[];
  /** Restricts the rule to these object names. */
  resourceNames?: string[];
}

/** A ServiceAccount another project created, by the name and namespace it exports. */
export interface ServiceAccountReference {
  name: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
}

function subjects(accounts: (k8s.core.v1.ServiceAccount | ServiceAccountReference)[]) {
  return accounts.map((account) =>
    k8s.core.v1.ServiceAccount.isInstance(account)
      ? { kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace }
      : { kind: "ServiceAccount", name: account.name, namespace: account.namespace },
  );
}

function rules(list: PolicyRule[]): k8s.types.input.rbac.v1.PolicyRule[] {
  return list.map((rule) => ({
    apiGroups: rule.apiGroups,
    resources: rule.resources,
    verbs: rule.verbs,
    ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}),
  }));
}

export interface RoleArgs extends NamespacedObjectArgs {
  /** What the role allows inside its namespace. */
  rules: PolicyRule[];
  /** The service accounts bound to the role: objects, or another project's by reference. */
  serviceAccounts: (k8s.core.v1.ServiceAccount | ServiceAccountReference)[];
}

/** Creates a Role and the RoleBinding that grants it to the given service accounts. */
export function createRole(args: RoleArgs): { role: k8s.rbac.v1.Role; binding: k8s.rbac.v1.RoleBinding } {
  const role = new k8s.rbac.v1.Role(
    namespacedResourceName(args),
    { metadata: namespacedMetadata(args), rules: rules(args.rules) },
    namespacedOptions(args),
  );
  const binding = new k8s.rbac.v1.RoleBinding(
    namespacedResourceName(args),
    {
      metadata: namespacedMetadata(args),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: subjects(args.serviceAccounts),
    },
    namespacedOptions(args),
  );
  return { role, binding };
}

export interface ClusterRoleArgs {
  /** The cluster role's name. */
  name: string;
  /** The Kubernetes provider of the server's cluster. */
  provider: k8s.Provider;
  /** What the role allows, cluster-wide. */
  rules: PolicyRule[];
  /** The service accounts bound to the role. */
  serviceAccounts: k8s.core.v1.ServiceAccount[];
  /** Extra labels. */
  labels?: Record<string, string>;
  /** Extra Pulumi options. */
  options?: Omit<pulumi.CustomResourceOptions, "provider">;
}

/** Creates a ClusterRole and the ClusterRoleBinding that grants it to the given service accounts. */
export function createClusterRole(args: ClusterRoleArgs): {
  clusterRole: k8s.rbac.v1.ClusterRole;
  binding: k8s.rbac.v1.ClusterRoleBinding;
} {
  const options = { ...args.options, provider: args.provider };
  const metadata = { name: args.name, labels: objectLabels(args.name, args.labels) };
  const clusterRole = new k8s.rbac.v1.ClusterRole(args.name, { metadata, rules: rules(args.rules) }, options);
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    args.name,
    {
      metadata,
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: clusterRole.metadata.name,
      },
      subjects: subjects(args.serviceAccounts),
    },
    options,
  );
  return { clusterRole, binding };
}
