/**
 * The `wg0.conf` of a VPN relay's upstream container.
 *
 * A relay pod shares one network namespace between a Tailscale exit node and an upstream container that
 * runs `wg-quick up wg0` towards the VPN provider. The config makes only traffic that arrives from the
 * Tailscale interface use the tunnel; everything the pod itself sends (Tailscale's own connections,
 * WireGuard's encrypted packets, cluster traffic) keeps using the main routing table.
 *
 * - `Table = <table>`: wg-quick puts the peer's `0.0.0.0/0` into that table and adds nothing else. With
 *   `Table = auto` (the default) it would add `ip rule not fwmark 51820 table 51820` (everything unmarked
 *   into the tunnel), a `suppress_prefixlength 0` rule, raw-table firewall rules and a sysctl write; none of
 *   that happens with an explicit table.
 * - PostUp, in this order, each safe to run again over the leftovers of a run whose PreDown never ran:
 *   an `unreachable` default route in the table (while wg0 is gone, marked traffic is refused rather than
 *   falling through to the main table and leaving unencrypted); a route for the provider's DNS server via
 *   wg0 in the main table (queries sent by the pod itself use the tunnel too); masquerade out of wg0 (the
 *   provider only routes the tunnel address back); the rule that sends marked packets to the table; and
 *   last the mark on packets from the Tailscale interface, which switches the path on.
 * - PreDown undoes each PostUp, in reverse order, so `wg-quick down` leaves the namespace as it found it.
 *
 * The rendered file sets no `DNS =`: wg-quick would call `resolvconf`, rewriting the resolv.conf the
 * containers of the pod share. The pod's own DNS config should name `location.dns`, which the route above
 * sends through the tunnel. Reverse-path filtering must not be strict (`rp_filter` 0 or 2, as Tailscale
 * requires of exit nodes anyway): replies arrive on wg0 without a mark, so a strict check looks up the main
 * table, finds another interface and drops them. The relay is IPv4-only.
 */
import { isIPv4 } from "node:net";

/** One exit location at the VPN provider, as the provider's WireGuard config describes it. */
export interface VpnLocation {
  /** DNS label naming the location, e.g. `ch-zurich`; used in resource names and errors. */
  name: string;
  /** The provider server, `<IPv4 address>:<port>`. */
  endpoint: string;
  /** The provider server's WireGuard public key (base64 of 32 bytes). */
  publicKey: string;
  /** The relay's tunnel address in CIDR form, e.g. `10.0.0.2/32`. */
  address: string;
  /** The provider's DNS server (IPv4), reached through the tunnel. */
  dns: string;
}

export interface RelayOptions {
  /** The Tailscale interface in the pod, e.g. `tailscale0`; packets arriving on it use the tunnel. */
  tailscaleInterface: string;
  /** Firewall mark bit(s) set on packets from the Tailscale interface. Default 0x1. */
  mark?: number;
  /** Routing table that holds the tunnel's default route. Default 51820. */
  table?: number;
  /** Priority of the `ip rule` that sends marked packets to the table. Default 5200. */
  rulePriority?: number;
}

/** What `RelayOptions` default to. */
export const relayDefaults = {
  mark: 0x1,
  table: 51820,
  // Ahead of Tailscale's rules (5210-5270): marked packets use the tunnel whatever Tailscale routes.
  rulePriority: 5200,
} as const;

/** Tailscale keeps its own marks in these bits (0x40000 forwarded, 0x80000 its own sockets). */
const tailscaleMarkMask = 0xff0000;
/** Tables `default`, `main` and `local`, which the relay must not take over. */
const reservedTables = new Set([253, 254, 255]);
/** The main table's rule; the relay's rule has to come before it. */
const mainRulePriority = 32766;
/** Keeps the NAT mappings between the pod and the provider open while a tunnelled connection is idle. */
const persistentKeepaliveSeconds = 25;
/** Metric of the `unreachable` route, behind the metric-0 route wg-quick adds via wg0. */
const killSwitchMetric = 4096;

/** The address and port of an `<IPv4>:<port>` endpoint, or undefined if it is not one. */
export function parseEndpoint(endpoint: string): { address: string; port: number } | undefined {
  const match = /^(.+):([1-9]\d{0,4})$/.exec(endpoint);
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  if (!isIPv4(match[1]) || port > 65535) return undefined;
  return { address: match[1], port };
}

/**
 * Problems with a VPN location, one message per field naming the location and the field; empty when the
 * location is usable. For config loaders, which add the config key and stack.
 */
export function validateVpnLocation(location: VpnLocation): string[] {
  const where = `VPN location ${JSON.stringify(location.name)}`;
  const problems: string[] = [];
  const field = (key: keyof VpnLocation, expected: string) =>
    problems.push(`${where}: ${key} ${JSON.stringify(location[key])} is not ${expected}`);

  if (typeof location.name !== "string" || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(location.name)) {
    field("name", "a DNS label (lower case letters, digits and dashes, up to 63)");
  }

  const endpoint = typeof location.endpoint === "string" ? parseEndpoint(location.endpoint) : undefined;
  if (!endpoint || !isUnicast(endpoint.address)) {
    // A literal address, so that the pod's network policy can allow exactly this server.
    field("endpoint", "<IPv4 address>:<port> with a unicast address, such as 192.0.2.10:51820");
  }

  if (!isWireguardKey(location.publicKey)) field("publicKey", "a WireGuard key (base64 of 32 bytes)");

  const address = typeof location.address === "string" ? cidrAddress(location.address) : undefined;
  if (!address) field("address", "an IPv4 unicast address with a prefix length, such as 10.0.0.2/32");

  if (typeof location.dns !== "string" || !isIPv4(location.dns) || !isUnicast(location.dns)) {
    field("dns", "an IPv4 unicast address such as 10.0.0.1");
  } else if (location.dns === address) {
    problems.push(`${where}: dns ${location.dns} is the relay's own tunnel address; expected the provider's`);
  }
  return problems;
}

/**
 * The `wg0.conf` text for one location (see the module comment for what it does). Throws an error naming
 * the location and field for any invalid input; the private key's value never appears in an error.
 */
export function renderWireguardConfig(
  location: VpnLocation,
  privateKey: string,
  options: RelayOptions,
): string {
  const problems = validateVpnLocation(location);
  if (!isWireguardKey(privateKey)) {
    problems.push(
      `VPN location ${JSON.stringify(location.name)}: the private key is not a WireGuard key ` +
        "(base64 of 32 bytes); its value is not shown",
    );
  }
  const relay = resolveRelayOptions(options, problems);
  if (problems.length > 0) throw new Error(`Cannot render wg0.conf:\n  ${problems.join("\n  ")}`);

  const hooks = relayHooks(location, relay);
  return [
    `# Upstream of the VPN relay for location ${location.name}: only traffic arriving on`,
    `# ${relay.tailscaleInterface} uses this tunnel (see @apps/vpn wireguard-config.ts).`,
    "[Interface]",
    `PrivateKey = ${privateKey}`,
    `Address = ${location.address}`,
    `Table = ${relay.table}`,
    ...hooks.map((hook) => `PostUp = ${hook.up}`),
    ...hooks.toReversed().map((hook) => `PreDown = ${hook.down}`),
    "",
    "[Peer]",
    `PublicKey = ${location.publicKey}`,
    `Endpoint = ${location.endpoint}`,
    "AllowedIPs = 0.0.0.0/0",
    `PersistentKeepalive = ${persistentKeepaliveSeconds}`,
    "",
  ].join("\n");
}

interface Hook {
  up: string;
  down: string;
}

/** The PostUp commands in order, each with its inverse. `%i` is wg-quick's interface name. */
function relayHooks(location: VpnLocation, relay: Required<RelayOptions>): Hook[] {
  const mark = `0x${relay.mark.toString(16)}`;
  const rule = `priority ${relay.rulePriority} fwmark ${mark}/${mark} lookup ${relay.table}`;
  const killSwitch = `unreachable default metric ${killSwitchMetric} table ${relay.table}`;
  const dnsRoute = `${location.dns}/32 dev %i`;
  return [
    { up: `ip -4 route replace ${killSwitch}`, down: `ip -4 route del ${killSwitch}` },
    { up: `ip -4 route replace ${dnsRoute}`, down: `ip -4 route del ${dnsRoute}` },
    iptablesRule("nat", "POSTROUTING", "-o %i -j MASQUERADE"),
    {
      // `ip rule add` of an existing rule with the same priority fails, so add only when it is missing.
      up: `[ -n "$(ip -4 rule show ${rule})" ] || ip -4 rule add ${rule}`,
      down: `ip -4 rule del ${rule}`,
    },
    iptablesRule("mangle", "PREROUTING", `-i ${relay.tailscaleInterface} -j MARK --or-mark ${mark}`),
  ];
}

/**
 * iptables through its nftables backend, named explicitly: it programs the kernel over netlink,
 * which needs CAP_NET_ADMIN only, while the legacy backend (what the image's plain `iptables` links
 * to: linuxserver/docker-wireguard's Dockerfile replaces /sbin/iptables with iptables-legacy) also
 * opens a raw socket, which needs CAP_NET_RAW. The relay's upstream container holds NET_ADMIN alone.
 */
const iptables = "iptables-nft";

/** Appends a rule unless an identical one is there already (iptables would add a duplicate). */
function iptablesRule(table: string, chain: string, rule: string): Hook {
  const append = `${iptables} -t ${table} -A ${chain} ${rule}`;
  return {
    up: `${iptables} -t ${table} -C ${chain} ${rule} 2>/dev/null || ${append}`,
    down: `${iptables} -t ${table} -D ${chain} ${rule}`,
  };
}

function resolveRelayOptions(options: RelayOptions, problems: string[]): Required<RelayOptions> {
  const relay = {
    tailscaleInterface: options.tailscaleInterface,
    mark: options.mark ?? relayDefaults.mark,
    table: options.table ?? relayDefaults.table,
    rulePriority: options.rulePriority ?? relayDefaults.rulePriority,
  };
  const problem = (key: keyof RelayOptions, expected: string) =>
    problems.push(`relay option ${key} ${JSON.stringify(relay[key])} is not ${expected}`);

  // Starts with a letter or digit so that `-i <name>` can never be read as an option.
  if (
    typeof relay.tailscaleInterface !== "string" ||
    !/^[A-Za-z0-9][\w.-]{0,14}$/.test(relay.tailscaleInterface)
  ) {
    problem("tailscaleInterface", "an interface name (up to 15 letters, digits, '_', '.' or '-')");
  }
  if (!isUint32(relay.mark) || relay.mark === 0 || (relay.mark & tailscaleMarkMask) !== 0) {
    problem("mark", "a non-zero 32-bit mark outside Tailscale's bits 0xff0000");
  }
  if (!isUint32(relay.table) || relay.table === 0 || reservedTables.has(relay.table)) {
    problem("table", "a routing table number other than 0, 253 (default), 254 (main) and 255 (local)");
  }
  if (
    !Number.isInteger(relay.rulePriority) ||
    relay.rulePriority < 1 ||
    relay.rulePriority >= mainRulePriority
  ) {
    problem("rulePriority", `a rule priority from 1 to ${mainRulePriority - 1} (ahead of the main table)`);
  }
  return relay;
}

function isWireguardKey(key: unknown): boolean {
  return (
    typeof key === "string" &&
    /^[A-Za-z0-9+/]{43}=$/.test(key) &&
    Buffer.from(key, "base64").toString("base64") === key
  );
}

function isUint32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/** Not in 0.0.0.0/8, 127.0.0.0/8, multicast or reserved (224.0.0.0 and up): routable to one host. */
function isUnicast(ip: string): boolean {
  const first = Number(ip.split(".")[0]);
  return first !== 0 && first !== 127 && first < 224;
}

/** The address of an `<IPv4>/<prefix>` tunnel address, or undefined if it is not one. */
function cidrAddress(cidr: string): string | undefined {
  const match = /^(.+)\/([1-9]|[12]\d|3[0-2])$/.exec(cidr);
  return match?.[1] && isIPv4(match[1]) && isUnicast(match[1]) ? match[1] : undefined;
}
