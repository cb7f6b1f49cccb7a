import { createVpnRelay } from "@apps/vpn";
import { ConfigError, readConfig } from "@infra/core";
import { createHeadscaleLogin, readHeadscaleApiKey, readTailnetControl } from "@infra/headscale";
import { createNamespace } from "@infra/k8s";
import { getKubernetesProvider, getStack, getTailscaleProvider } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import { authKeyExpiryConfig, locationsConfig, tagConfig } from "./config";

export default async function main() {
  const locations = readConfig("locations", locationsConfig);
  const tag = readConfig("tag", tagConfig);
  const authKeyExpirySeconds = readConfig("authKeyExpirySeconds", authKeyExpiryConfig);

  // One secret object holds every location's private key: `vpn:privateKeys.<location>`.
  const config = new pulumi.Config();
  if (config.get("privateKeys") === undefined) {
    throw new ConfigError(
      `Missing secret config "vpn:privateKeys" for stack "${pulumi.getStack()}": set each location's WireGuard ` +
        `private key with: pulumi config set --secret --path 'privateKeys.<location>' <key> --stack ${pulumi.getStack()}`,
    );
  }
  const privateKeys = config.requireSecretObject<Record<string, string>>("privateKeys");

  const namespace = createNamespace({
    name: "vpn",
    provider: getKubernetesProvider(),
    // The relays (@apps/vpn) need what even `baseline` refuses: the host's /dev/net/tun (a hostPath)
    // for Tailscale's kernel interface, NET_ADMIN for wg0, routes and firewall, root to hold it, and the
    // sysctls ip_forward, src_valid_mark and rp_filter, outside the safe set. Nothing else runs here.
    podSecurity: "privileged",
  });
  const control = await readTailnetControl(getStack("shared"));
  // On a Headscale site each relay's key is made there, once the operator has set its API key
  // (pulumi/packages/headscale/README.md, "Bootstrap"); until then there are no relays.
  const apiKey = control.kind === "headscale" ? await readHeadscaleApiKey(getStack("shared")) : undefined;
  if (control.kind === "headscale" && !apiKey) {
    pulumi.log.warn(
      `No Headscale API key yet (shared:headscaleApiKey on ${pulumi.getStack()}): no relay until it is set`,
    );
    return { exitNodes: [], relayWorkloads: [] };
  }
  const loginOf = (name: string) =>
    control.kind === "headscale" && apiKey
      ? {
          headscale: createHeadscaleLogin({
            name: `relay-${name}`,
            control,
            apiKey,
            tag,
            expirySeconds: authKeyExpirySeconds,
          }),
        }
      : { tailscaleProvider: getTailscaleProvider(), authKeyExpirySeconds };

  const relays = locations.map((location) =>
    createVpnRelay({
      namespace,
      location,
      tag,
      ...loginOf(location.name),
      privateKey: privateKeys.apply((keys) => {
        const key = keys[location.name];
        if (!key) {
          throw new ConfigError(
            `Stack "${pulumi.getStack()}": no private key for VPN location "${location.name}" in vpn:privateKeys ` +
              `(pulumi config set --secret --path 'privateKeys.${location.name}' <key>)`,
          );
        }
        return key;
      }),
    }),
  );

  return {
    /** The exit nodes this server offers, by tailnet name. */
    exitNodes: locations.map((location) => location.name),
    relayWorkloads: relays.map((relay) => relay.workload.name),
  };
}
