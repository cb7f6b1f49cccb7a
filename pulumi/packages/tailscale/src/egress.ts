import type { Peer, Rule } from "@infra/cilium";

/**
 * Address ranges that are not the public internet (IANA's special-purpose registry, RFC 6890):
 * private networks (RFC 1918), shared address space (RFC 6598, where the tailnet's own addresses
 * lie too) and link-local addresses (RFC 3927, where cloud metadata services answer).
 */
export const nonPublicRanges = [
  "10.0.0.0/8",
  "100.64.0.0/10",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
];

/** Every IPv4 address outside those ranges (the clusters are IPv4-only). */
const publicInternet: Peer = { cidrs: ["0.0.0.0/0"], except: nonPublicRanges };

/**
 * What a Tailscale node sends outside the cluster (README.md has the sources):
 * - TCP 443 to Tailscale's servers: the coordination server and the log server, looked up by name
 *   (or dialled at the addresses the coordination server's dial plan names), and the DERP relays
 *   and their bootstrap DNS, dialled at the addresses of the DERP map without a lookup. A name rule
 *   could match only the former, and the relays need the port to any address Tailscale may add,
 *   so the rule allows the port, to the public internet only.
 * - UDP 3478: STUN, to the DERP servers' addresses from the same map.
 * - UDP 41641: WireGuard straight to peers listening on Tailscale's default port, wherever they
 *   are (a peer may sit on the server's own network). Peers on other ports are reached through a
 *   DERP relay instead.
 */
export const tailscaleEgressRules: Rule[] = [
  {
    peers: [publicInternet],
    ports: [
      { port: 443, protocol: "TCP" },
      { port: 3478, protocol: "UDP" },
    ],
  },
  { peers: [{ entities: ["world"] }], ports: [{ port: 41641, protocol: "UDP" }] },
];

/** Where the tailnet's Headscale answers, as its clients dial it. */
export interface HeadscaleEndpoint {
  /** The TCP port of its HTTPS: control, and the embedded DERP relay. */
  port: number;
  /** The namespace and labels of its pods, which a client on Headscale's own server reaches inside the cluster. */
  namespace: string;
  podLabels: Record<string, string>;
}

/** The UDP port of STUN, the embedded DERP server's and Tailscale's alike. */
export const stunPort = 3478;

/**
 * What a Tailscale node of a Headscale tailnet sends outside its pod: Headscale's port (TCP) and
 * STUN (UDP 3478) on the public internet, where Headscale's server answers (its embedded DERP map
 * lists the server's address and no other relay), the same two to Headscale's pods for a node on
 * Headscale's own server (the Service on the node's address is translated to them inside the
 * cluster), and WireGuard to peers as with Tailscale's service. Nothing reaches Tailscale's own
 * servers: no 443 beyond a Headscale listening there.
 */
export function headscaleEgressRules(headscale: HeadscaleEndpoint): Rule[] {
  const ports = [
    { port: headscale.port, protocol: "TCP" as const },
    { port: stunPort, protocol: "UDP" as const },
  ];
  return [
    { peers: [publicInternet], ports },
    { peers: [{ endpoints: headscale.podLabels, namespace: headscale.namespace }], ports },
    { peers: [{ entities: ["world"] }], ports: [{ port: 41641, protocol: "UDP" }] },
  ];
}
