/** A port the admins reach behind a router. */
export interface GrantedPort {
  port: number;
  protocol: "TCP" | "UDP";
}

/** One server's subnet router, as the policy knows it. */
export interface TailnetRouter {
  /** The router's own tag: the only one auto-approved for its routes. */
  tag: string;
  /** What it advertises: each route, with the ports the admins reach there. */
  destinations: { route: string; ports: readonly GrantedPort[] }[];
}

export interface TailnetPolicyArgs {
  /** Who may assign the platform's tags (users, groups, `autogroup:admin` or tags). */
  tagOwners: string[];
  /** The group that reaches what the routers advertise, and the exit nodes; and its members. */
  admins: { group: string; members: string[] };
  /** Every server's subnet router. */
  routers: TailnetRouter[];
  /** Tags of exit nodes (VPN relays) the policy auto-approves and lets the admins use. */
  exitNodeTags: string[];
}

const grantedPort = (port: GrantedPort) => `${port.protocol.toLowerCase()}:${port.port}`;

function duplicates(values: string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}

/**
 * The tailnet policy file. It is one document per tailnet, so it lists what every server needs:
 * each server's router is auto-approved for its own routes only (another server's router, or its
 * stolen state, cannot claim them), and the admins reach each route on its ports only, one grant
 * per set of ports. No grant names a platform tag as its source: routers and relays answer, and
 * start nothing in the tailnet.
 */
export function tailnetPolicy(args: TailnetPolicyArgs): Record<string, unknown> {
  const routes = args.routers.flatMap((router) =>
    router.destinations.map((destination) => destination.route),
  );
  const tags = [...args.routers.map((router) => router.tag), ...args.exitNodeTags];
  const sharedRoutes = duplicates(routes);
  if (sharedRoutes.length > 0) {
    throw new Error(`Tailnet policy: ${sharedRoutes.join(", ")} would be approved for more than one router`);
  }
  const sharedTags = duplicates(tags);
  if (sharedTags.length > 0) {
    throw new Error(
      `Tailnet policy: ${sharedTags.join(", ")} would tag more than one router (or a router and the exit ` +
        "nodes); each router needs a tag of its own",
    );
  }
  const grants = new Map<string, { ip: string[]; dst: string[] }>();
  for (const destination of args.routers.flatMap((router) => router.destinations)) {
    const ip = destination.ports.map(grantedPort);
    const grant = grants.get(ip.join(",")) ?? { ip, dst: [] };
    grant.dst.push(destination.route);
    grants.set(ip.join(","), grant);
  }
  return {
    groups: { [args.admins.group]: args.admins.members },
    tagOwners: Object.fromEntries(tags.map((tag) => [tag, args.tagOwners])),
    autoApprovers: {
      routes: Object.fromEntries(
        args.routers.flatMap((router) =>
          router.destinations.map((destination) => [destination.route, [router.tag]]),
        ),
      ),
      ...(args.exitNodeTags.length > 0 ? { exitNode: args.exitNodeTags } : {}),
    },
    grants: [
      ...[...grants.values()].map((grant) => ({ src: [args.admins.group], dst: grant.dst, ip: grant.ip })),
      ...(args.exitNodeTags.length > 0
        ? [{ src: [args.admins.group], dst: ["autogroup:internet"], ip: ["*"] }]
        : []),
    ],
  };
}
