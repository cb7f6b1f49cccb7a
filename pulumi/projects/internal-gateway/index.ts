import { ConfigError, readConfig } from "@infra/core";
import { createNamespace, selectorLabels } from "@infra/k8s";
import { createSubnetRouter, tailnetPolicy } from "@infra/tailscale";
import { createTraefik, servedNamespacesConfig, traefikEntryPoints } from "@infra/traefik";
import {
  checkTailnetPorts,
  getKubernetesProvider,
  getSharedEnvironment,
  getStack,
  getTailscaleProvider,
  namespacesRunningHere,
  requireStackOutput,
  reservedServiceAddress,
  type TailnetServer,
  tailnetDestinations,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { routerConfig, routerTag, type TailnetPolicyConfig, tailnetPolicyConfig } from "./config";

const gatewayClass = "internal";
const routerName = "tailscale-router";

/** Whether this stack manages the tailnet policy (exactly one stack per tailnet does). */
async function ownsTailnetPolicy(): Promise<boolean> {
  const details = await getStack("shared").getOutputDetails("tailscale");
  const settings = (details.value ?? details.secretValue) as { ownsTailnetPolicy?: boolean } | undefined;
  return settings?.ownsTailnetPolicy === true;
}

/** The policy config, required on the owning stack and refused anywhere else (it would be ignored). */
function readTailnetPolicyConfig(owns: boolean): TailnetPolicyConfig | undefined {
  if (owns) return readConfig("tailnetPolicy", tailnetPolicyConfig);
  if (new pulumi.Config().get("tailnetPolicy") !== undefined) {
    throw new ConfigError(
      `Config "internal-gateway:tailnetPolicy" is set on stack "${pulumi.getStack()}", but this stack does not ` +
        "own the tailnet policy (servers/site.json names another server as tailnet.policyOwner): move it to the owner's stack file.",
    );
  }
  return undefined;
}

/**
 * The tailnet policy file: every server's router (servers/), tagged `<tagPrefix>-<server>`,
 * advertising the fixed addresses of its range, each granted to the admins on its ports.
 */
function createTailnetPolicy(settings: TailnetPolicyConfig, tagPrefix: string) {
  const document = requireStackOutput<TailnetServer[]>("shared", "tailnetServers").apply((servers) => {
    const policy = tailnetPolicy({
      tagOwners: settings.tagOwners,
      admins: settings.admins,
      routers: servers.map((server) => ({
        tag: routerTag(tagPrefix, server.name),
        destinations: tailnetDestinations(server.serviceCidr),
      })),
      exitNodeTags: settings.exitNodeTags,
    });
    return JSON.stringify(policy, null, 2);
  });
  return new tailscale.Acl(
    "tailnet-policy",
    // This stack owns the whole document: it replaces whatever the tailnet had.
    { acl: document, overwriteExistingContent: true },
    { provider: getTailscaleProvider() },
  );
}

export default async function main() {
  const routerSettings = readConfig("router", routerConfig);
  const owns = await ownsTailnetPolicy();
  const policySettings = readTailnetPolicyConfig(owns);
  const { server, network } = getSharedEnvironment();
  const namespace = createNamespace({ name: "internal-gateway", provider: getKubernetesProvider() });

  const clusterIp = network.apply((ranges) => reservedServiceAddress(ranges.serviceCidr, "internal-gateway"));
  const traefik = createTraefik({
    namespace,
    gatewayClass,
    description: "Private apps: Traefik on a fixed cluster IP, via the tailnet",
    gatewayApiVersion: requireStackOutput<string>("gateway-api", "gatewayApiVersion"),
    service: { type: "ClusterIP", clusterIp },
    clients: [{ endpoints: selectorLabels(routerName) }],
    statusAddress: clusterIp,
    // The namespaces of the Gateways it serves (each app's is its name); it reads nowhere else.
    servedNamespaces: namespacesRunningHere(readConfig("servedNamespaces", servedNamespacesConfig)),
  });

  // The tailnet reaches Traefik on its Service's ports, which the tailnet policy grants.
  checkTailnetPorts(
    "internal-gateway",
    Object.values(traefikEntryPoints).map((entryPoint) => ({ port: entryPoint.exposedPort })),
  );
  const serviceCidr = network.apply((ranges) => ranges.serviceCidr);
  // Only the fixed addresses, never the whole range: it holds the API server's address too.
  const routes = serviceCidr.apply((range) =>
    tailnetDestinations(range).map((destination) => destination.route),
  );
  const routerHostname = server.apply((facts) => `${facts.name}-router`);
  const tag = routerTag(routerSettings.tagPrefix, pulumi.getStack());
  // The policy defines the router's tag: Tailscale refuses a key for a tag it does not know.
  const policy = policySettings ? createTailnetPolicy(policySettings, routerSettings.tagPrefix) : undefined;
  const router = createSubnetRouter({
    name: routerName,
    namespace,
    hostname: routerHostname,
    routes,
    tag,
    tailscaleProvider: getTailscaleProvider(),
    authKeyExpirySeconds: routerSettings.authKeyExpirySeconds,
    ...(policy ? { authKeyDependsOn: [policy] } : {}),
    destinations: [
      {
        peers: [{ endpoints: traefik.podLabels }],
        ports: Object.values(traefikEntryPoints).map((entryPoint) => ({ port: entryPoint.port })),
      },
    ],
  });

  return {
    /** The GatewayClass of private apps' Gateways. */
    gatewayClass,
    /** Traefik's fixed cluster IP: private apps' DNS records point at it. */
    clusterIp,
    /** The namespace Traefik (and the subnet router) run in. */
    namespace: namespace.metadata.name,
    /** Labels of the Traefik pods (the identity label selects them within the namespace). */
    podLabels: traefik.podLabels,
    /** Traefik's ServiceAccount: each served namespace grants it read access there. */
    serviceAccount: traefik.serviceAccount.metadata.name,
    /** The namespaces whose Gateways Traefik serves (internal-gateway:servedNamespaces). */
    servedNamespaces: traefik.servedNamespaces,
    /** Gateway listener ports: Traefik's entrypoint ports, behind the Service's 80 and 443. */
    listenerPorts: { http: traefikEntryPoints.web.port, https: traefikEntryPoints.websecure.port },
    /** The routes the subnet router advertises: the fixed addresses of the service range, each a /32. */
    advertisedRoutes: routes,
    /** The subnet router's device name in the tailnet. */
    routerHostname,
    /** The subnet router's tag, this server's own. */
    routerTag: tag,
    /** Labels of the subnet router's pods: tailnet traffic into the cluster comes from them. */
    routerPodLabels: router.workload.selector,
    /** Whether this stack manages the tailnet policy. */
    managesTailnetPolicy: policy !== undefined,
  };
}
