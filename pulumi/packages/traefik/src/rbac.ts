import { dnsLabel } from "@infra/core";
import { createRole, type PolicyRule } from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

// What Traefik's Gateway API provider reads and writes (v3.7, pkg/provider/kubernetes/gateway/
// client.go `WatchAll`; the verbs of docs/content/reference/dynamic-configuration/
// kubernetes-gateway-rbac.yml): one cluster-wide informer for Namespaces and one for
// GatewayClasses, and in each watched namespace informers for Services, EndpointSlices,
// ConfigMaps, Secrets and the Gateway API kinds. The README of this package says why this is
// split into a ClusterRole and one Role per served namespace.

const read = ["get", "list", "watch"];
const gatewayApi = "gateway.networking.k8s.io";

/**
 * The namespaces a Traefik serves, as a gateway project's `servedNamespaces` config lists them:
 * each app's namespace is its name. Empty by default: the Traefik serves nothing.
 */
export const servedNamespacesConfig = z
  .array(dnsLabel)
  .default([])
  .refine((names) => new Set(names).size === names.length, { error: "list each namespace once" });

/**
 * What Traefik needs outside any namespace: the namespaces' names and labels (a listener's
 * `allowedRoutes` may select namespaces by label), the GatewayClasses, and the status of its own
 * class only. No Secret, Service or route of any namespace.
 */
export function traefikClusterRules(gatewayClass: string): PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
    { apiGroups: [gatewayApi], resources: ["gatewayclasses"], verbs: read },
    {
      apiGroups: [gatewayApi],
      resources: ["gatewayclasses/status"],
      verbs: ["update"],
      resourceNames: [gatewayClass],
    },
  ];
}

/** The Gateway API objects of one exposure, whose status Traefik writes. */
export interface ServedObjects {
  gateways: string[];
  httpRoutes: string[];
}

/**
 * What Traefik needs in a namespace it serves. Kubernetes cannot restrict `list` and `watch` by
 * name, and the provider lists each kind it watches, so every Service, EndpointSlice, ConfigMap,
 * Secret, Gateway and route of the namespace is readable; writes are limited to the status of
 * `served` (none where it serves nothing, such as the wildcard certificate's namespace).
 */
export function traefikNamespaceRules(served: ServedObjects): PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["services", "configmaps", "secrets"], verbs: read },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    {
      apiGroups: [gatewayApi],
      // TCPRoutes only with the provider's experimental channel, which is off.
      resources: [
        "gateways",
        "httproutes",
        "grpcroutes",
        "tlsroutes",
        "referencegrants",
        "backendtlspolicies",
      ],
      verbs: read,
    },
    // An empty resourceNames would grant every name: a kind with nothing served gets no rule.
    ...statusRule("gateways/status", served.gateways),
    ...statusRule("httproutes/status", served.httpRoutes),
  ];
}

/** The right to write the status of exactly these objects; none when there are none. */
function statusRule(resource: string, names: string[]): PolicyRule[] {
  return names.length > 0
    ? [{ apiGroups: [gatewayApi], resources: [resource], verbs: ["update"], resourceNames: names }]
    : [];
}

export interface TraefikNamespaceAccessArgs {
  /** Names the Role and its RoleBinding. */
  name: string;
  /** A namespace the Traefik serves (listed in its `servedNamespaces`). */
  namespace: k8s.core.v1.Namespace;
  /** The Traefik's ServiceAccount, as its gateway project exports it. */
  serviceAccount: { name: pulumi.Input<string>; namespace: pulumi.Input<string> };
  /** The Gateway and routes it serves here. */
  served: ServedObjects;
}

/**
 * Lets a Traefik read what its Gateway API provider watches in one namespace it serves, and
 * write the status of the Gateway and routes it serves there (`traefikNamespaceRules`).
 */
export function createTraefikNamespaceAccess(args: TraefikNamespaceAccessArgs): {
  role: k8s.rbac.v1.Role;
  binding: k8s.rbac.v1.RoleBinding;
} {
  return createRole({
    name: args.name,
    namespace: args.namespace,
    rules: traefikNamespaceRules(args.served),
    serviceAccounts: [args.serviceAccount],
  });
}
