import {
  cidrRange,
  findServersDir,
  privateDomainOf,
  readSecretConfig,
  requireServer,
  tailnetControlOf,
} from "@infra/core";
import { readBackupNotifyUrls, readBackupSettings } from "@infra/restic";
import type { ClusterNetwork, ServerFacts, TailnetServer } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import { readTerraformServer } from "./terraform-state";

const stack = pulumi.getStack();
// Every fact of the server and of the site comes from servers/ (servers/<stack>.json, site.json).
const serversDir = findServersDir();
const { site, server: description, servers } = requireServer(stack, serversDir);

function serverFacts(): pulumi.Output<ServerFacts> {
  const kubeContext = description.kubeContext ?? stack;
  const provider = description.provider;
  if (provider.kind === "existing") {
    const { internalIp, publicIp, sshHost, sshPort, sshUser } = provider;
    return pulumi.output({ name: stack, kubeContext, internalIp, publicIp, sshHost, sshPort, sshUser });
  }
  return readTerraformServer(serversDir, stack).apply((outputs) => ({
    name: stack,
    kubeContext,
    internalIp: outputs.internal_ip,
    publicIp: outputs.public_ip,
    sshHost: outputs.ssh_host,
    sshPort: Number(outputs.ssh_port),
    sshUser: outputs.ssh_user,
  }));
}

// k3s gives the cluster DNS service the tenth address of the service range.
function clusterDnsIp(serviceCidr: string): string {
  const [first] = cidrRange(serviceCidr);
  const address = first + 10;
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".");
}

export const server = serverFacts();
export const network: ClusterNetwork = {
  clusterCidr: description.network.clusterCidr,
  serviceCidr: description.network.serviceCidr,
  clusterDnsIp: clusterDnsIp(description.network.serviceCidr),
};
/** Whether the server's public address serves the public gateway. */
export const reachableFromInternet = description.reachableFromInternet;
export const domain = site.domain;
/** The zone of private apps' names, resolved only inside the tailnet (servers/site.json privateDomain). */
export const privateDomain = privateDomainOf(site);
/** The tailnet's control server: Tailscale's service, or the site's Headscale (servers/site.json tailnet.headscale). */
export const tailnetControl = tailnetControlOf(site);
export const tailnet = site.tailnet.name;
export const acme = { email: site.acmeEmail, server: site.acmeServer };

/** The Cloudflare zone of `domain` (the API token is exported as a secret). */
export const cloudflare = { zoneId: site.cloudflareZoneId };
/**
 * The operator's Cloudflare API token: what Pulumi's Cloudflare provider uses on the operator's
 * machine (the exposures' DNS records, the zone's settings). Never given to a cluster: each
 * cluster's cert-manager has a token of its own (`cert-manager:cloudflareApiToken`).
 */
export const cloudflareApiToken = readSecretConfig("cloudflareApiToken");
/**
 * The Tailscale OAuth client that creates auth keys, and whether this stack owns the tailnet's
 * policy: the one server servers/site.json names (tailnet.policyOwner).
 */
export const tailscale = {
  oauthClientId: site.tailnet.oauthClientId,
  ownsTailnetPolicy: site.tailnet.policyOwner === stack,
};
// Only Tailscale's service needs it: a Headscale site manages nothing there.
export const tailscaleOauthClientSecret =
  tailnetControl.kind === "tailscale" ? readSecretConfig("tailscaleOauthClientSecret") : undefined;
/**
 * Headscale's API key (servers/site.json tailnet.headscale), a secret: internal-gateway and vpn
 * make their devices' pre-auth keys with it. Unset until Headscale runs and the operator made one
 * (pulumi/packages/headscale/README.md, "Bootstrap"); those projects leave their devices out until then.
 */
export const headscaleApiKey =
  tailnetControl.kind === "headscale" && new pulumi.Config().get("headscaleApiKey") !== undefined
    ? readSecretConfig("headscaleApiKey")
    : undefined;
/** Every server of the tailnet with its service range: the policy lists each one's routes. */
export const tailnetServers: TailnetServer[] = servers.map((each) => ({
  name: each.name,
  serviceCidr: each.network.serviceCidr,
}));

/**
 * The stack's backup settings (`backup:*`, each defaulting to servers/site.json's backup), read by
 * every stateful project: where the repositories live, which hosts the jobs may reach, the default
 * schedule and retention, whether the jobs' storage keys are append-only, and the kind and hosts
 * of the notification target. No secret: each repository's password and storage key are kept
 * with it, in its secrets file (pulumi/packages/restic/README.md).
 */
export const backup = readBackupSettings(site.backup);
/** The URLs of `backup:notify` (the target's and the heartbeat's), a secret: they may hold a token or a ping key. */
export const backupNotify = readBackupNotifyUrls();
