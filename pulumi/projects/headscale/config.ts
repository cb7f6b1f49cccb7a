import { domainName, ipv4, storageConfig } from "@infra/core";
import { z } from "zod";

const tagExpected = "expected a tag such as tag:k8s-router";
const tag = z.string({ error: tagExpected }).regex(/^tag:[a-z0-9-]+$/, { error: tagExpected });
// A Headscale user is named `<name>@` in a policy (or by its e-mail address, for OIDC users).
const userExpected = "expected a Headscale user such as alice@ (its name and @), or an e-mail address";
const user = z.string().regex(/^[^@\s]+@[^@\s]*$/, { error: userExpected });

/**
 * The tailnet policy's settings on a Headscale site, where this project applies the policy (the
 * inputs internal-gateway's `tailnetPolicy` gives `tailnetPolicy()` with Tailscale's service).
 */
const tailnetPolicySettings = z.strictObject({
  /** Who may assign the platform's tags: users (`alice@`), groups or tags; Headscale has no autogroup:admin. */
  tagOwners: z.array(z.union([user, z.string().regex(/^(group|tag):[a-z0-9-]+$/)])).min(1),
  /** The group that reaches the fixed addresses behind every router (on their ports) and uses the exit nodes. */
  admins: z.strictObject({
    group: z.string().regex(/^group:[a-z0-9-]+$/, { error: "expected a group such as group:admins" }),
    members: z.array(user).min(1),
  }),
  /** Tags of VPN relays that advertise exit nodes (vpn:tag); none by default. */
  exitNodeTags: z.array(tag).default([]),
  /** The routers' tags are `<routerTagPrefix>-<server>`: the same prefix as internal-gateway:router.tagPrefix on every server. */
  routerTagPrefix: tag.default("tag:k8s-router"),
});

export const headscaleConfig = z.object({
  /** The volume holding Headscale's noise and DERP private keys. */
  storage: storageConfig("1Gi"),
  /**
   * MagicDNS's domain: devices are `<device>.<baseDomain>`. Tailscale clients answer the whole
   * domain from the tailnet, so it must hold neither the site's domain, its private zone nor
   * Headscale's own name. Default: `tailnet.<privateDomain>`.
   */
  baseDomain: domainName.optional(),
  /** The resolvers devices use for every name the tailnet does not answer. */
  nameservers: z.array(ipv4).min(1).default(["1.1.1.1", "1.0.0.1"]),
  tailnetPolicy: tailnetPolicySettings,
});
