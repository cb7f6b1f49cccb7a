export interface TailnetPolicyArgs {
  /** The tag of the subnet routers, auto-approved for every route in `routes`. */
  routerTag: string;
  /** Who may assign the platform's tags (users, groups, `autogroup:admin` or tags). */
  tagOwners: string[];
  /** The group that may reach the routed ranges' gateways, and its members. */
  admins: { group: string; members: string[] };
  /** Every server's routed service range. */
  routes: string[];
  /** Tags of exit nodes (VPN relays) the policy auto-approves and lets the admins use. */
  exitNodeTags: string[];
  /**
   * What the admins reach in the routed ranges, as `tcp:<port>` / `udp:<port>`: the gateways'
   * HTTP(S) and the ports of apps reached by address (Syncthing's sync protocol). The clusters'
   * policies decide which pod answers on which.
   */
  ports: string[];
}

/**
 * The tailnet policy file. It is one document per tailnet, so it lists what every server needs:
 * each server's subnet router is auto-approved for its service range, and the admins reach the
 * routed ranges on the listed ports only.
 */
export function tailnetPolicy(args: TailnetPolicyArgs): Record<string, unknown> {
  const tags = [args.routerTag, ...args.exitNodeTags];
  return {
    groups: { [args.admins.group]: args.admins.members },
    tagOwners: Object.fromEntries(tags.map((tag) => [tag, args.tagOwners])),
    autoApprovers: {
      routes: Object.fromEntries(args.routes.map((route) => [route, [args.routerTag]])),
      ...(args.exitNodeTags.length > 0 ? { exitNode: args.exitNodeTags } : {}),
    },
    grants: [
      { src: [args.admins.group], dst: args.routes, ip: args.ports },
      ...(args.exitNodeTags.length > 0
        ? [{ src: [args.admins.group], dst: ["autogroup:internet"], ip: ["*"] }]
        : []),
    ],
  };
}
