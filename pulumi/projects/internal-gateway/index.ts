import { ConfigError, readConfig, type TailnetControl } from "@infra/core";
import { createHeadscaleLogin, readHeadscaleApiKey, readTailnetControl } from "@infra/headscale";
import { createNamespace, selectorLabels } from "@infra/k8s";
import { createSubnetRouter, tailnetPolicy } from "@infra/tailscale";
import {
  createTraefik,
  createTraefikNamespaceAccess,
  servedNamespacesConfig,
  traefikEntryPoints,
} from "@infra/traefik";
import {
  checkTailnetPorts,
  getKubernetesProvider,
  getSharedEnvironment,
  getStack,
  getTailscaleProvider,
  namespacesRunningHere,
  privateDnsPods,
  privateTlsNamespace,
  requireStackOutput,
  reservedServiceAddress,
  type TailnetServer,
  tailnetDestinations,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { routerConfig, routerTag, type TailnetPolicyConfig, tailnetPolicyConfig } from "./config";
import { createSplitDns } from "./split-dns";
import { createWildcardCertificate } from "./wildcard-certificate";

const gatewayClass = "internal";
const routerName = "tailscale-router";

/** Whether this stack manages the tailnet policy (exactly one stack per tailnet does). */
async function ownsTailnetPolicy(): Promise<boolean> {
  const details = await getStack("shared").getOutputDetails("tailscale");
  const settings = (details.value ?? details.secretValue) as { ownsTailnetPolicy?: boolean } | undefined;
  return settings?.ownsTailnetPolicy === true;
}

/** The policy config, required on the owning stack and refused anywhere else (it would be ignored). */
function readTailnetPolicyConfig(owns: boolean, control: TailnetControl): TailnetPolicyConfig | undefined {
  if (owns) return readConfig("tailnetPolicy", tailnetPolicyConfig);
  if (control.kind === "headscale" && new pulumi.Config().get("tailnetPolicy") !== undefined) {
    throw new ConfigError(
      `Config "internal-gateway:tailnetPolicy" is set on stack "${pulumi.getStack()}", but the site's tailnet is ` +
        `controlled by Headscale (servers/site.json tailnet.headscale), which applies the policy itself: move it to ` +
        `headscale:tailnetPolicy on ${control.server}'s stack.`,
    );
  }
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
  const control = await readTailnetControl(getStack("shared"));
  // On a Headscale site the headscale project applies the policy; nothing is managed at Tailscale.
  const owns = control.kind === "tailscale" && (await ownsTailnetPolicy());
  const policySettings = readTailnetPolicyConfig(owns, control);
  const { server, network, privateDomain } = getSharedEnvironment();
  const namespace = createNamespace({ name: "internal-gateway", provider: getKubernetesProvider() });
  // The wildcard certificate of this server's private names, in a namespace of its own.
  const tlsNamespace = createNamespace({ name: privateTlsNamespace, provider: getKubernetesProvider() });
  const wildcard = createWildcardCertificate({
    namespace: tlsNamespace,
    privateDomain,
    server: server.apply((facts) => facts.name),
  });

  const clusterIp = network.apply((ranges) => reservedServiceAddress(ranges.serviceCidr, "internal-gateway"));
  const traefik = createTraefik({
    namespace,
    gatewayClass,
    description: "Private apps: Traefik on a fixed cluster IP, via the tailnet",
    gatewayApiVersion: requireStackOutput<string>("gateway-api", "gatewayApiVersion"),
    service: { type: "ClusterIP", clusterIp },
    clients: [{ endpoints: selectorLabels(routerName) }],
    statusAddress: clusterIp,
    // The namespaces of the Gateways it serves (each app's is its name), and the wildcard
    // certificate's, whose Secret their listeners refer to; it reads nowhere else.
    servedNamespaces: [
      ...namespacesRunningHere(readConfig("servedNamespaces", servedNamespacesConfig)),
      privateTlsNamespace,
    ],
  });
  // It serves no Gateway there: it reads the certificate's Secret and the ReferenceGrants.
  createTraefikNamespaceAccess({
    name: "traefik-wildcard-certificate",
    namespace: tlsNamespace,
    serviceAccount: { name: traefik.serviceAccount.metadata.name, namespace: namespace.metadata.name },
    served: { gateways: [], httpRoutes: [] },
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
  // On a Headscale site the router's key is made there, with the API key the operator creates once
  // Headscale runs (pulumi/packages/headscale/README.md, "Bootstrap"); until then there is no router.
  const apiKey = control.kind === "headscale" ? await readHeadscaleApiKey(getStack("shared")) : undefined;
  if (control.kind === "headscale" && !apiKey) {
    pulumi.log.warn(
      `No Headscale API key yet (shared:headscaleApiKey on ${pulumi.getStack()}): the subnet router is left out until it is set`,
    );
  }
  const login =
    control.kind === "tailscale"
      ? {
          tailscaleProvider: getTailscaleProvider(),
          authKeyExpirySeconds: routerSettings.authKeyExpirySeconds,
          ...(policy ? { authKeyDependsOn: [policy] } : {}),
        }
      : apiKey
        ? {
            headscale: createHeadscaleLogin({
              name: routerName,
              control,
              apiKey,
              tag,
              expirySeconds: routerSettings.authKeyExpirySeconds,
            }),
          }
        : undefined;
  const router =
    login &&
    createSubnetRouter({
      name: routerName,
      namespace,
      hostname: routerHostname,
      routes,
      tag,
      ...login,
      destinations: [
        {
          peers: [{ endpoints: traefik.podLabels }],
          ports: Object.values(traefikEntryPoints).map((entryPoint) => ({ port: entryPoint.port })),
        },
        // The private DNS (the private-dns project, deployed later), on its container's port.
        {
          peers: [{ endpoints: privateDnsPods.labels, namespace: privateDnsPods.namespace }],
          ports: [
            { port: privateDnsPods.port, protocol: "UDP" },
            { port: privateDnsPods.port, protocol: "TCP" },
          ],
        },
      ],
    });
  // The tailnet's split DNS: every query of the private zone goes to every server's private DNS.
  if (policy)
    createSplitDns({
      privateDomain,
      servers: requireStackOutput<TailnetServer[]>("shared", "tailnetServers"),
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
    routerPodLabels: router?.workload.selector ?? selectorLabels(routerName),
    /** Whether this stack manages the tailnet policy (and the tailnet's split DNS). */
    managesTailnetPolicy: policy !== undefined,
    /** The wildcard certificate of this server's private names: private exposures' listeners use its Secret. */
    wildcardCertificate: { namespace: tlsNamespace.metadata.name, secretName: wildcard.secretName },
  };
}
