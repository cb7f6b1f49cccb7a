import { cidrsOverlap, dnsLabel, ipv4Cidr } from "@infra/core";
import { z } from "zod";

const tagExpected = "expected a Tailscale tag such as tag:k8s-router";
const tag = z.string({ error: tagExpected }).regex(/^tag:[a-z0-9-]+$/, { error: tagExpected });

/** The subnet router of this server. */
export const routerConfig = z.object({
  /** The router's tailnet tag: the same on every server, auto-approved by the tailnet policy. */
  tag,
});

const loginExpected = "expected a tailnet login such as admin@example.com or alice@github";

/**
 * The tailnet policy file, set only on the stack that owns it (shared:tailscale.ownsTailnetPolicy).
 * The policy is one document for the whole tailnet, so it lists every server.
 */
export const tailnetPolicyConfig = z.object({
  /** Who may assign the platform's tags: users, `group:...`, `autogroup:admin`, or tags. */
  tagOwners: z.array(z.string().min(1)).min(1),
  /** The group that reaches the internal gateways. */
  admins: z.object({
    group: z.string().regex(/^group:[a-z0-9-]+$/, { error: "expected a group such as group:admins" }),
    members: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: loginExpected })).min(1),
  }),
  /** Every server's service range, by stack: each server's router is auto-approved for its own. */
  serviceCidrs: z
    .record(dnsLabel, ipv4Cidr)
    .refine((cidrs) => Object.keys(cidrs).length > 0, { error: "list every server's service range" })
    .refine(
      (cidrs) => {
        const list = Object.values(cidrs).filter((cidr) => ipv4Cidr.safeParse(cidr).success);
        return list.every((cidr, index) =>
          list.slice(index + 1).every((other) => !cidrsOverlap(cidr, other)),
        );
      },
      { error: "the servers' service ranges overlap; routes in one tailnet must be disjoint" },
    ),
  /** Tags of VPN relays that advertise exit nodes (the vpn project); none by default. */
  exitNodeTags: z.array(tag).default([]),
  /**
   * The ports the admins reach in the routed ranges: the gateways' HTTP(S) by default; add the
   * ports of apps reached by address, such as Syncthing's `tcp:22000` and `udp:22000`.
   */
  ports: z
    .array(z.string().regex(/^(tcp|udp):[1-9][0-9]{0,4}$/, { error: "expected tcp:<port> or udp:<port>" }))
    .min(1)
    .default(["tcp:80", "tcp:443"]),
});

export type TailnetPolicyConfig = z.output<typeof tailnetPolicyConfig>;
