import { type VpnLocation, validateVpnLocation } from "@apps/vpn";
import { dnsLabel } from "@infra/core";
import { defaultAuthKeyExpirySeconds, maxAuthKeyExpirySeconds } from "@infra/tailscale";
import { z } from "zod";

const location = z
  .object({
    /** The exit node's name in the tailnet, for example `ch-zurich`. */
    name: dnsLabel,
    /** The provider's server, `<IPv4>:<port>`, from the provider's WireGuard config. */
    endpoint: z.string(),
    /** The provider server's public key. */
    publicKey: z.string(),
    /** The relay's tunnel address at the provider, in CIDR form. */
    address: z.string(),
    /** The provider's DNS server, reached through the tunnel. */
    dns: z.string(),
  })
  .superRefine((value, context) => {
    for (const problem of validateVpnLocation(value as VpnLocation))
      context.addIssue({ code: "custom", message: problem });
  });

/** The exit locations of this server; each becomes one relay. */
export const locationsConfig = z
  .array(location)
  .min(1, { error: "list at least one location" })
  .refine((list) => new Set(list.map((entry) => entry.name)).size === list.length, {
    error: "location names must be unique",
  });

/** The tailnet tag of the relays (the tailnet policy lets it advertise exit nodes). */
export const tagConfig = z
  .string()
  .regex(/^tag:[a-z0-9-]+$/, { error: "expected a Tailscale tag such as tag:vpn-relay" })
  .default("tag:vpn-relay");

/** Seconds each relay's single-use auth key stays usable before the relay first starts; one hour by default. */
export const authKeyExpiryConfig = z
  .number()
  .int()
  .min(60)
  .max(maxAuthKeyExpirySeconds)
  .default(defaultAuthKeyExpirySeconds);
