import { apiServerPort, createPolicy, type Peer } from "@infra/cilium";
import { charts } from "@infra/core";
import { createHelmRelease, identityLabel, objectLabels } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

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
  /** The address Gateways of this class report in their status. */
  statusAddress?: pulumi.Input<string>;
}

/** An installed Traefik and what gateways and policies need from it. */
export interface Traefik {
  release: k8s.helm.v3.Release;
  gatewayClass: k8s.apiextensions.CustomResource;
  /** Labels of the Traefik pods (the chart's selector); the identity label alone selects them in the namespace. */
  podLabels: Record<string, string>;
  /** The policy that lets Traefik reach what it must and lets its clients in. */
  policy: k8s.apiextensions.CustomResource;
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
    return { type: "LoadBalancer", externalTrafficPolicy: service.externalTrafficPolicy };
  }
  return { type: "ClusterIP", ...(service.clusterIp === undefined ? {} : { clusterIP: service.clusterIp }) };
}

/**
 * The chart values: Traefik as a Gateway API implementation only. The Ingress and IngressRoute
 * providers are off, the chart's own GatewayClass and Gateway are not created (the class is
 * created here, Gateways live in app namespaces), and the provider only takes GatewayClasses
 * labelled with this class's name, so two Traefiks in one cluster never serve each other's
 * Gateways (both use the same controller name).
 */
export function traefikValues(args: TraefikArgs, releaseName: string): Record<string, unknown> {
  return {
    instanceLabelOverride: releaseName,
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    api: { dashboard: false },
    providers: {
      kubernetesCRD: { enabled: false },
      kubernetesIngress: { enabled: false },
      kubernetesGateway: {
        enabled: true,
        labelSelector: `${identityLabel}=${args.gatewayClass}`,
        ...(args.statusAddress === undefined ? {} : { statusAddress: { ip: args.statusAddress } }),
      },
    },
    ingressClass: { enabled: false },
    gatewayClass: { enabled: false },
    gateway: { enabled: false },
    ports: entryPointValues(args.trustedForwarders),
    service: { spec: serviceSpec(args.service) },
  };
}

const kubeDns = { "k8s:k8s-app": "kube-dns" };

/**
 * Installs Traefik (the pinned chart) as the implementation of one GatewayClass, with its
 * policy: clients in on the entrypoints, out to the API server (it watches Gateway API objects,
 * Services and Secrets), to kube-dns, and to the cluster's pods (each app's own ingress policy
 * decides which gateway may reach it).
 */
export function createTraefik(args: TraefikArgs): Traefik {
  const name = args.name ?? "traefik";
  // The chart's selector labels: its name and the instance label set in the values.
  const podLabels = { [identityLabel]: charts.traefik.chart, "app.kubernetes.io/instance": name };
  const entryPointPorts = Object.values(traefikEntryPoints).map((entryPoint) => ({ port: entryPoint.port }));
  const policy = createPolicy({
    name,
    description: `Traefik of GatewayClass ${args.gatewayClass}: its clients in; the API server, DNS and the cluster's pods out.`,
    namespace: args.namespace,
    subject: { labels: podLabels },
    ingress: [{ peers: args.clients, ports: entryPointPorts }],
    egress: [
      { peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: apiServerPort }] },
      {
        peers: [{ endpoints: kubeDns, namespace: "kube-system" }],
        ports: [
          { port: 53, protocol: "UDP" },
          { port: 53, protocol: "TCP" },
        ],
      },
      { peers: [{ entities: ["cluster"] }] },
    ],
  });
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
    // Under default deny, Traefik can only reach the API server once its policy exists.
    options: { dependsOn: [policy, gatewayClass] },
  });
  return { release, gatewayClass, podLabels, policy };
}
