import { createNamespace } from "@infra/k8s";
import { createTraefik, traefikEntryPoints } from "@infra/traefik";
import {
  getCloudflareProvider,
  getKubernetesProvider,
  getSharedEnvironment,
  requireStackOutput,
} from "@projects/common";
import * as cloudflare from "@pulumi/cloudflare";

const gatewayClass = "public";

export default async function main() {
  // Cloudflare's proxies are the only clients: DNS records of public apps are proxied.
  const ranges = await cloudflare.getIpRanges({}, { provider: getCloudflareProvider() });
  const cloudflareCidrs = [...ranges.ipv4Cidrs, ...ranges.ipv6Cidrs];
  const { server } = getSharedEnvironment();
  const namespace = createNamespace({ name: "public-gateway", provider: getKubernetesProvider() });

  const traefik = createTraefik({
    namespace,
    gatewayClass,
    description: "Public apps: Traefik on ports 80/443 behind Cloudflare",
    gatewayApiVersion: requireStackOutput<string>("gateway-api", "gatewayApiVersion"),
    // Cilium publishes the Service on the node's address (node IPAM); `Local` keeps the client's
    // (Cloudflare's) address, so the policy below can tell Cloudflare from anyone else.
    service: { type: "LoadBalancer", externalTrafficPolicy: "Local" },
    clients: [{ cidrs: cloudflareCidrs }],
    // Cloudflare says who the visitor was in X-Forwarded-For.
    trustedForwarders: cloudflareCidrs,
  });

  return {
    /** The GatewayClass of public apps' Gateways. */
    gatewayClass,
    /** The address public apps' (proxied) DNS records point at. */
    publicIp: server.apply((facts) => facts.publicIp),
    /** The namespace Traefik runs in. */
    namespace: namespace.metadata.name,
    /** Labels of the Traefik pods (the identity label selects them within the namespace). */
    podLabels: traefik.podLabels,
    /** Gateway listener ports: Traefik's entrypoint ports, behind the node's 80 and 443. */
    listenerPorts: { http: traefikEntryPoints.web.port, https: traefikEntryPoints.websecure.port },
    /** The ranges Traefik accepts connections from. */
    allowedSources: cloudflareCidrs,
  };
}
