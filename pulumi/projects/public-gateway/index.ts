import { readConfig } from "@infra/core";
import { createNamespace } from "@infra/k8s";
import { createTraefik, servedNamespacesConfig, traefikEntryPoints } from "@infra/traefik";
import {
  getKubernetesProvider,
  getSharedEnvironment,
  namespacesRunningHere,
  requireStackOutput,
} from "@projects/common";
import { readCloudflareRanges } from "./cloudflare-ranges";
import { hstsConfig, hstsHeader } from "./config";
import { cloudflareOriginPullCa } from "./origin-pull-ca";
import { createZoneSettings, readZoneSettings } from "./zone";

const gatewayClass = "public";

export default function main() {
  const zoneSettings = readZoneSettings();
  const hsts = readConfig("hsts", hstsConfig);
  // Cloudflare's proxies are the only clients: DNS records of public apps are proxied. The ranges
  // are the pinned ones the servers' firewalls admit on 80/443 too.
  const cloudflareCidrs = readCloudflareRanges();
  const { server } = getSharedEnvironment();
  const publicIp = server.apply((facts) => facts.publicIp);
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
    statusAddress: publicIp,
    // The namespaces of the public apps on this server; it reads nowhere else.
    servedNamespaces: namespacesRunningHere(readConfig("servedNamespaces", servedNamespacesConfig)),
    // Authenticated Origin Pulls: a TLS connection without Cloudflare's client certificate is
    // refused, so an address inside Cloudflare's ranges is not enough.
    clientCertificateAuthorities: [cloudflareOriginPullCa],
  });

  if (zoneSettings) createZoneSettings(zoneSettings, hsts);

  return {
    /** The GatewayClass of public apps' Gateways. */
    gatewayClass,
    /** The address public apps' (proxied) DNS records point at. */
    publicIp,
    /** The namespace Traefik runs in. */
    namespace: namespace.metadata.name,
    /** Labels of the Traefik pods (the identity label selects them within the namespace). */
    podLabels: traefik.podLabels,
    /** Traefik's ServiceAccount: each served namespace grants it read access there. */
    serviceAccount: traefik.serviceAccount.metadata.name,
    /** The namespaces whose Gateways Traefik serves (public-gateway:servedNamespaces). */
    servedNamespaces: traefik.servedNamespaces,
    /** Gateway listener ports: Traefik's entrypoint ports, behind the node's 80 and 443. */
    listenerPorts: { http: traefikEntryPoints.web.port, https: traefikEntryPoints.websecure.port },
    /** The ranges Traefik accepts connections from. */
    allowedSources: cloudflareCidrs,
    /** The Strict-Transport-Security header every public route sends. */
    strictTransportSecurity: hstsHeader(hsts),
    /** Whether this stack manages the zone's TLS settings. */
    managesZoneSettings: zoneSettings !== undefined,
  };
}
