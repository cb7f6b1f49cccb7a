import { apiServerPort, createPolicy, type PortRule, policySpec } from "@infra/cilium";
import { namespacedResourceName, objectLabels } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { components, webhookPort } from "./chart";
import { type Nameserver, splitNameserver } from "./config";

/** The Cloudflare API cert-manager writes the DNS-01 TXT records through. */
export const cloudflareApiHost = "api.cloudflare.com";

function toApiServer(namespace: k8s.core.v1.Namespace, component: keyof typeof components) {
  return createPolicy({
    name: `${component}-to-api-server`,
    description: `cert-manager's ${component} calls the Kubernetes API server.`,
    namespace,
    subject: { labels: components[component] },
    egress: [{ peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: apiServerPort }] }],
  });
}

/** The resolvers grouped by port: one rule per port, both protocols (DNS falls back to TCP). */
function resolverRules(nameservers: Nameserver[]) {
  const ports = [...new Set(nameservers.map((server) => server.port))];
  return ports.map((port) => ({
    peers: [
      {
        cidrs: nameservers.filter((server) => server.port === port).map((server) => `${server.address}/32`),
      },
    ],
    ports: [
      { port, protocol: "UDP" },
      { port, protocol: "TCP" },
    ] satisfies PortRule[],
  }));
}

/**
 * The controller's way out: the ACME directory and Cloudflare's API on 443, and the recursive
 * resolvers of the DNS-01 self-check. The ACME host comes from the shared layer (an output),
 * while createPolicy takes names as text, so the spec is built with @infra/cilium's
 * `policySpec` once the host is known; the policy itself is declared up front.
 */
function controllerEgress(
  namespace: k8s.core.v1.Namespace,
  acmeHost: pulumi.Output<string>,
  nameservers: string[],
): k8s.apiextensions.CustomResource {
  const name = "controller-egress";
  return new k8s.apiextensions.CustomResource(
    namespacedResourceName({ name, namespace }),
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: { name, namespace: namespace.metadata.name, labels: objectLabels(name) },
      spec: acmeHost.apply((host) =>
        policySpec({
          name,
          namespace,
          description: `cert-manager's controller reaches ${host} and ${cloudflareApiHost}, and asks ${nameservers.join(", ")}.`,
          subject: { labels: components.controller },
          egress: [
            { peers: [{ fqdns: [host, cloudflareApiHost] }], ports: [{ port: 443 }] },
            ...resolverRules(nameservers.map(splitNameserver)),
          ],
        }),
      ),
    },
    { parent: namespace },
  );
}

/**
 * Every path cert-manager needs under default deny: its pods call the API server, the API server
 * calls the webhook, and the controller reaches the ACME directory, Cloudflare and the resolvers.
 * Its metrics and health ports need nothing (the node's probes are allowed cluster-wide).
 */
export function createCertManagerPolicies(args: {
  namespace: k8s.core.v1.Namespace;
  acmeServer: pulumi.Output<string>;
  nameservers: string[];
}): k8s.apiextensions.CustomResource[] {
  const { namespace } = args;
  return [
    toApiServer(namespace, "controller"),
    toApiServer(namespace, "cainjector"),
    toApiServer(namespace, "webhook"),
    toApiServer(namespace, "startupapicheck"),
    createPolicy({
      name: "webhook-from-api-server",
      description: "The API server calls cert-manager's admission webhook.",
      namespace,
      subject: { labels: components.webhook },
      ingress: [{ peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: webhookPort }] }],
    }),
    controllerEgress(
      namespace,
      args.acmeServer.apply((server) => new URL(server).hostname),
      args.nameservers,
    ),
  ];
}
