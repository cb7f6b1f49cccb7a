import { apiServerPort, createPolicy, type Peer } from "@infra/cilium";
import { charts } from "@infra/core";
import {
  createHelmRelease,
  createServiceAccount,
  identityLabel,
  objectLabels,
  type ResourcesArgs,
} from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { traefikClusterRules } from "./rbac";

/** The controller name Traefik's Gateway API provider claims GatewayClasses by. */
export const traefikControllerName = "traefik.io/gateway-controller";

/**
 * The entrypoints and the ports Traefik listens on inside its pod. A Gateway listener's port
 * must be one of these (not the Service's port): Traefik binds a listener to the entrypoint of
 * the same port.
 */
export const traefikEntryPoints = {
  web: { port: 8000, exposedPort: 80 },
  websecure: { port: 8443, exposedPort: 443 },
} as const;

/** How Traefik's Service is reached. */
export type TraefikService =
  /** Inside the cluster only, optionally on a fixed address of the service range. */
  | { type: "ClusterIP"; clusterIp?: pulumi.Input<string> }
  /**
   * On the node's ports 80/443 through the cluster's load balancer (Cilium node IPAM). `Local`
   * keeps the client's source address, which policies and logs need.
   */
  | { type: "LoadBalancer"; externalTrafficPolicy: "Local" | "Cluster" };

export interface TraefikArgs {
  /** The Helm release's name; `traefik` by default. */
  name?: string;
  /** The namespace Traefik runs in (one Traefik per namespace); it inherits the namespace's provider. */
  namespace: k8s.core.v1.Namespace;
  /** The GatewayClass this Traefik implements, created here; Gateways of it live in app namespaces. */
  gatewayClass: string;
  /** What the GatewayClass is for, shown by `kubectl get gatewayclass -o wide`. */
  description: string;
  /** The Gateway API release the cluster serves (recorded on the GatewayClass). */
  gatewayApiVersion: pulumi.Input<string>;
  service: TraefikService;
  /** Who may connect to the entrypoints (the only ingress Traefik's policy allows). */
  clients: Peer[];
  /** Proxies whose `X-Forwarded-*` headers Traefik trusts, so apps see the real client address. */
  trustedForwarders?: string[];
  /** The address Gateways of this class report in their status: the one their DNS records point at. */
  statusAddress: pulumi.Input<string>;
  /**
   * The namespaces whose Gateways this Traefik serves. Its Gateway API provider watches these
   * only, and each must grant it access (`createTraefikNamespaceAccess`) or the provider serves
   * nothing at all. Empty: the provider is off, and Traefik gets no role and no way to the API server.
   */
  servedNamespaces: string[];
  /**
   * CA certificates (PEM): every TLS connection must present a client certificate one of them
   * signed (Traefik's `default` TLS option, which every HTTPS listener uses).
   * @default none: no client certificate is asked for
   */
  clientCertificateAuthorities?: string[];
}

/** An installed Traefik and what gateways and policies need from it. */
export interface Traefik {
  release: k8s.helm.v3.Release;
  gatewayClass: k8s.apiextensions.CustomResource;
  /** Labels of the Traefik pods (the chart's selector); the identity label alone selects them in the namespace. */
  podLabels: Record<string, string>;
  /** The policy that lets Traefik reach the API server and DNS, and lets its clients in. */
  policy: k8s.apiextensions.CustomResource;
  /** The account Traefik runs as; the served namespaces bind their Roles to it. */
  serviceAccount: k8s.core.v1.ServiceAccount;
  /** The namespaces its Gateway API provider watches. */
  servedNamespaces: string[];
}

function entryPointValues(trustedForwarders: string[] | undefined): Record<string, unknown> {
  const forwardedHeaders = trustedForwarders ? { forwardedHeaders: { trustedIPs: trustedForwarders } } : {};
  return Object.fromEntries(
    Object.entries(traefikEntryPoints).map(([name, ports]) => [
      name,
      { port: ports.port, exposedPort: ports.exposedPort, expose: { default: true }, ...forwardedHeaders },
    ]),
  );
}

function serviceSpec(service: TraefikService): Record<string, unknown> {
  if (service.type === "LoadBalancer") {
    return {
      type: "LoadBalancer",
      externalTrafficPolicy: service.externalTrafficPolicy,
      // Cilium serves the load balancer's address itself; a node port would open the entrypoints on
      // a second, unfiltered port of every node address (ServiceSpec.allocateLoadBalancerNodePorts,
      // https://kubernetes.io/docs/concepts/services-networking/service/#load-balancer-nodeport-allocation).
      allocateLoadBalancerNodePorts: false,
    };
  }
  return { type: "ClusterIP", ...(service.clusterIp === undefined ? {} : { clusterIP: service.clusterIp }) };
}

/** Traefik's `default` TLS option, in the file provider's dynamic configuration. */
function defaultTlsOption(clientCertificateAuthorities: string[]): Record<string, unknown> {
  return {
    tls: {
      options: {
        // Routers without TLS options (every Gateway API router) take the `default` option, and
        // so does a handshake whose server name no router claims.
        default: {
          clientAuth: { caFiles: clientCertificateAuthorities, clientAuthType: "RequireAndVerifyClientCert" },
        },
      },
    },
  };
}

function gatewayProviderValues(args: TraefikArgs): Record<string, unknown> {
  if (args.servedNamespaces.length === 0) return { enabled: false };
  return {
    enabled: true,
    labelSelector: `${identityLabel}=${args.gatewayClass}`,
    // Watching no namespace means every namespace to Traefik, which needs cluster-wide access.
    namespaces: args.servedNamespaces,
    // The address alone: the chart's default also points Traefik at its own Service, which lies
    // in a namespace it does not watch.
    statusAddress: { ip: args.statusAddress, service: { enabled: false } },
  };
}

/**
 * The chart values: Traefik as a Gateway API implementation only. The Ingress and IngressRoute
 * providers are off, the chart's own GatewayClass and Gateway are not created (the class is
 * created here, Gateways live in app namespaces), and the provider only takes GatewayClasses
 * labelled with this class's name, so two Traefiks in one cluster never serve each other's
 * Gateways (both use the same controller name). The chart's RBAC is off (its ClusterRole reads
 * every Secret of the cluster): the account and its roles are created here, the provider watches
 * the served namespaces only.
 */
export function traefikValues(args: TraefikArgs, releaseName: string): Record<string, unknown> {
  return {
    instanceLabelOverride: releaseName,
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    api: { dashboard: false },
    rbac: { enabled: false },
    serviceAccount: { name: releaseName },
    providers: {
      kubernetesCRD: { enabled: false },
      kubernetesIngress: { enabled: false },
      kubernetesGateway: gatewayProviderValues(args),
      ...(args.clientCertificateAuthorities
        ? { file: { enabled: true, content: defaultTlsOption(args.clientCertificateAuthorities) } }
        : {}),
    },
    ingressClass: { enabled: false },
    gatewayClass: { enabled: false },
    gateway: { enabled: false },
    ports: entryPointValues(args.trustedForwarders),
    service: { spec: serviceSpec(args.service) },
    resources: traefikResources,
    podSecurityContext: traefikPodSecurityContext,
  };
}

/**
 * Traefik's compute resources: no CPU limit (it proxies every request, so throttling it would slow
 * them all), a memory limit that the chart also passes to Go as GOMEMLIMIT (templates/_podtemplate.tpl),
 * so the garbage collector works harder before the kernel would kill it. The chart sets none by
 * default (values.yaml `resources: {}`).
 */
export const traefikResources: ResourcesArgs = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { memory: "256Mi" },
};

/**
 * The pod's security context: the chart's defaults (values.yaml `podSecurityContext`: user and group
 * 65532, non-root) and the runtime's seccomp profile, which the chart does not set and Pod Security
 * `restricted` requires. Its container context (`securityContext`: no privilege escalation, every
 * capability dropped, read-only root) already satisfies `restricted`.
 */
const traefikPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  seccompProfile: { type: "RuntimeDefault" },
};

const kubeDns = { "k8s:k8s-app": "kube-dns" };

/**
 * The ClusterRole of one Traefik (`traefikClusterRules`) and its binding. Cluster-scoped objects
 * named after the class, so two Traefiks never share one; they take the namespace's provider.
 */
function createClusterAccess(
  gatewayClass: string,
  namespace: k8s.core.v1.Namespace,
  serviceAccount: k8s.core.v1.ServiceAccount,
): [k8s.rbac.v1.ClusterRole, k8s.rbac.v1.ClusterRoleBinding] {
  const name = `traefik-${gatewayClass}`;
  const metadata = { name, labels: objectLabels(name) };
  const role = new k8s.rbac.v1.ClusterRole(
    name,
    { metadata, rules: traefikClusterRules(gatewayClass) },
    { parent: namespace },
  );
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    name,
    {
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [
        {
          kind: "ServiceAccount",
          name: serviceAccount.metadata.name,
          namespace: serviceAccount.metadata.namespace,
        },
      ],
    },
    { parent: namespace },
  );
  return [role, binding];
}

/**
 * Installs Traefik (the pinned chart) as the implementation of one GatewayClass, with its
 * account, its cluster-wide role (namespace names and its own GatewayClass) and its policy:
 * clients in on the entrypoints, out to kube-dns and (when it serves any namespace) the API
 * server. Each exposure adds the egress to its own backend and the Role in its namespace.
 */
export function createTraefik(args: TraefikArgs): Traefik {
  const name = args.name ?? "traefik";
  const serves = args.servedNamespaces.length > 0;
  if (args.clientCertificateAuthorities?.length === 0) {
    throw new Error(`Traefik ${args.gatewayClass}: give at least one client certificate authority, or none`);
  }
  // The chart's selector labels: its name and the instance label set in the values.
  const podLabels = { [identityLabel]: charts.traefik.chart, "app.kubernetes.io/instance": name };
  const entryPointPorts = Object.values(traefikEntryPoints).map((entryPoint) => ({ port: entryPoint.port }));
  const dns = {
    peers: [{ endpoints: kubeDns, namespace: "kube-system" }],
    ports: [
      { port: 53, protocol: "UDP" as const },
      { port: 53, protocol: "TCP" as const },
    ],
  };
  const policy = createPolicy({
    name,
    description: serves
      ? `Traefik of GatewayClass ${args.gatewayClass}: its clients in; the API server and DNS out (each exposure adds its backend).`
      : `Traefik of GatewayClass ${args.gatewayClass}: its clients in; DNS out. It serves no namespace.`,
    namespace: args.namespace,
    subject: { labels: podLabels },
    ingress: [{ peers: args.clients, ports: entryPointPorts }],
    egress: [
      ...(serves
        ? [{ peers: [{ entities: ["kube-apiserver" as const] }], ports: [{ port: apiServerPort }] }]
        : []),
      dns,
    ],
  });
  // The chart's pod template mounts the account's token whatever the account says; bound to no
  // role (a Traefik that serves nothing), it opens only what every account may: API discovery.
  const serviceAccount = createServiceAccount({ name, namespace: args.namespace, automountToken: true });
  const clusterRole = serves ? createClusterAccess(args.gatewayClass, args.namespace, serviceAccount) : [];
  const gatewayClass = new k8s.apiextensions.CustomResource(
    `gatewayclass-${args.gatewayClass}`,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: {
        name: args.gatewayClass,
        // The label the provider's labelSelector picks this class by.
        labels: objectLabels(args.gatewayClass),
        // Which Gateway API release the class was made for.
        annotations: { "gateway.networking.k8s.io/bundle-version": args.gatewayApiVersion },
      },
      spec: { controllerName: traefikControllerName, description: args.description },
    },
    { parent: args.namespace },
  );
  const release = createHelmRelease({
    name,
    namespace: args.namespace,
    chart: charts.traefik,
    values: traefikValues(args, name),
    // The Gateway API CRDs belong to the gateway-api layer, and Traefik's own CRDs serve providers
    // that are off.
    skipCrds: true,
    // Under default deny, Traefik can only reach the API server once its policy exists, and it
    // reads nothing before its account may.
    options: {
      dependsOn: [policy, gatewayClass, serviceAccount, ...clusterRole],
    },
  });
  return {
    release,
    gatewayClass,
    podLabels,
    policy,
    serviceAccount,
    servedNamespaces: args.servedNamespaces,
  };
}
