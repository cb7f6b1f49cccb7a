import { cidrRange, readConfig, readSecretConfig } from "@infra/core";
import { readBackupNotifyUrls, readBackupSettings } from "@infra/restic";
import type { ClusterNetwork, ServerFacts } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import {
  acmeConfig,
  cloudflareConfig,
  domainName,
  networkConfig,
  serverConfig,
  tailnetName,
  tailscaleConfig,
} from "./config";
import { readTerraformServer } from "./terraform-state";

const stack = pulumi.getStack();
const serverSettings = readConfig("server", serverConfig);
const networkSettings = readConfig("network", networkConfig);

function serverFacts(): pulumi.Output<ServerFacts> {
  const kubeContext = serverSettings.kubeContext ?? stack;
  if (serverSettings.terraformState) {
    return readTerraformServer(serverSettings.terraformState).apply((outputs) => ({
      name: stack,
      kubeContext,
      internalIp: outputs.internal_ip,
      publicIp: outputs.public_ip,
      sshHost: outputs.ssh_host,
      sshPort: Number(outputs.ssh_port),
      sshUser: outputs.ssh_user,
    }));
  }
  const host = serverSettings.host;
  if (!host) throw new Error("unreachable: config validation requires terraformState or host");
  return pulumi.output({ name: stack, kubeContext, ...host });
}

// k3s gives the cluster DNS service the tenth address of the service range.
function clusterDnsIp(serviceCidr: string): string {
  const [first] = cidrRange(serviceCidr);
  const address = first + 10;
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".");
}

export const server = serverFacts();
export const network: ClusterNetwork = {
  clusterCidr: networkSettings.clusterCidr,
  serviceCidr: networkSettings.serviceCidr,
  clusterDnsIp: clusterDnsIp(networkSettings.serviceCidr),
};
export const domain = readConfig("domain", domainName);
export const tailnet = readConfig("tailnet", tailnetName);
export const acme = readConfig("acme", acmeConfig);

/** The Cloudflare zone of `domain` (the API token is exported as a secret). */
export const cloudflare = readConfig("cloudflare", cloudflareConfig);
/**
 * The operator's Cloudflare API token: what Pulumi's Cloudflare provider uses on the operator's
 * machine (the exposures' DNS records, the zone's settings). Never given to a cluster: each
 * cluster's cert-manager has a token of its own (`cert-manager:cloudflareApiToken`).
 */
export const cloudflareApiToken = readSecretConfig("cloudflareApiToken");
/** The Tailscale OAuth client that creates auth keys and manages the tailnet policy. */
export const tailscale = readConfig("tailscale", tailscaleConfig);
export const tailscaleOauthClientSecret = readSecretConfig("tailscaleOauthClientSecret");

/**
 * The stack's backup settings (`backup:*`), set here once and read by every stateful project:
 * where the repositories live, which hosts the jobs may reach, the default schedule and retention,
 * whether the jobs' storage keys are append-only, and the kind and hosts of the notification
 * target. No secret: each repository's password and storage key are kept with it, in its secrets
 * file (pulumi/packages/restic/README.md).
 */
export const backup = readBackupSettings();
/** The URLs of `backup:notify` (the target's and the heartbeat's), a secret: they may hold a token or a ping key. */
export const backupNotify = readBackupNotifyUrls();
