import { defaultAuthKeyExpirySeconds, maxAuthKeyExpirySeconds } from "@infra/tailscale";
import { z } from "zod";

const tagExpected = "expected a Tailscale tag such as tag:k8s-router";
const tag = z.string({ error: tagExpected }).regex(/^tag:[a-z0-9-]+$/, { error: tagExpected });

/** The subnet router of this server. */
export const routerConfig = z
  .strictObject({
    /**
     * The router's tag is `<tagPrefix>-<server>`, each server's own: the tailnet policy approves
     * a server's routes for its router's tag only. The prefix must be the same on every server
     * (the stack that owns the policy names every server's tag with its own).
     */
    tagPrefix: tag.default("tag:k8s-router"),
    /** Seconds the router's auth key stays usable before its first start; one hour by default. */
    authKeyExpirySeconds: z
      .number()
      .int()
      .min(60)
      .max(maxAuthKeyExpirySeconds)
      .default(defaultAuthKeyExpirySeconds),
  })
  .prefault({});

export type RouterConfig = z.output<typeof routerConfig>;

/** A server's router tag: `<prefix>-<server>`. */
export function routerTag(prefix: string, server: string): string {
  return `${prefix}-${server}`;
}

const loginExpected = "expected a tailnet login such as admin@example.com or alice@github";

/**
 * The tailnet policy file, set only on the stack that owns it (servers/site.json tailnet.policyOwner).
 * The policy is one document for the whole tailnet: it lists every server of servers/, each one's
 * router approved for the fixed addresses of its own service range.
 */
export const tailnetPolicyConfig = z.strictObject({
  /**
   * Who may assign the platform's tags (every server's router tag and the exit-node tags): users,
   * `group:...`, `autogroup:admin`, or tags.
   */
  tagOwners: z.array(z.string().min(1)).min(1),
  /** The group that reaches the fixed addresses behind every router (on their ports) and uses the exit nodes. */
  admins: z.strictObject({
    group: z.string().regex(/^group:[a-z0-9-]+$/, { error: "expected a group such as group:admins" }),
    members: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: loginExpected })).min(1),
  }),
  /** Tags of VPN relays that advertise exit nodes (the vpn project); none by default. */
  exitNodeTags: z.array(tag).default([]),
});

export type TailnetPolicyConfig = z.output<typeof tailnetPolicyConfig>;
