import { createClusterRole, createServiceAccount, objectLabels, type PolicyRule } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";

/** The account whose short-lived tokens log in (`task dashboard:token`). */
export const loginAccountName = "dashboard-user";

const read = ["get", "list", "watch"];

/** What the read-only login sees: workloads, networking, storage and config, never Secrets. */
export const readOnlyRules: PolicyRule[] = [
  {
    apiGroups: [""],
    resources: [
      "configmaps",
      "endpoints",
      "events",
      "limitranges",
      "namespaces",
      "nodes",
      "persistentvolumeclaims",
      "persistentvolumes",
      "pods",
      "pods/log",
      "replicationcontrollers",
      "resourcequotas",
      "serviceaccounts",
      "services",
    ],
    verbs: read,
  },
  {
    apiGroups: ["apps"],
    resources: ["daemonsets", "deployments", "replicasets", "statefulsets"],
    verbs: read,
  },
  { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: read },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: read },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: read },
  {
    apiGroups: ["networking.k8s.io"],
    resources: ["ingressclasses", "ingresses", "networkpolicies"],
    verbs: read,
  },
  {
    apiGroups: ["gateway.networking.k8s.io"],
    resources: ["gatewayclasses", "gateways", "httproutes"],
    verbs: read,
  },
  { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: read },
  { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], verbs: read },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["clusterrolebindings", "clusterroles", "rolebindings", "roles"],
    verbs: read,
  },
  { apiGroups: ["metrics.k8s.io"], resources: ["nodes", "pods"], verbs: read },
];

export interface DashboardAccessArgs {
  namespace: k8s.core.v1.Namespace;
  provider: k8s.Provider;
  /** Bind the login account to cluster-admin instead of the read-only role. */
  admin: boolean;
}

/**
 * The login account and what it may do: read-only by default, cluster-admin only when the stack
 * asks for it. Its token is never stored; one is requested when needed and expires.
 */
export function createDashboardAccess(args: DashboardAccessArgs): k8s.core.v1.ServiceAccount {
  const account = createServiceAccount({ name: loginAccountName, namespace: args.namespace });
  if (!args.admin) {
    createClusterRole({
      name: "dashboard-read-only",
      provider: args.provider,
      rules: readOnlyRules,
      serviceAccounts: [account],
    });
    return account;
  }
  const name = "dashboard-admin";
  new k8s.rbac.v1.ClusterRoleBinding(
    name,
    {
      metadata: { name, labels: objectLabels(name) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [
        { kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace },
      ],
    },
    { provider: args.provider },
  );
  return account;
}
