import { cidrContains, cidrRange } from "@infra/core";

/** A port the tailnet reaches on a fixed address. */
export interface TailnetPort {
  port: number;
  protocol: "TCP" | "UDP";
}

/** A fixed cluster IP: which address of a server's service range it is, and what the tailnet reaches there. */
export interface ReservedServiceAddress {
  /** Its index in the range (.1 is the API server, .10 the cluster DNS). */
  index: number;
  /** The ports of the Service on it; the subnet router advertises it and the tailnet policy grants them. */
  tailnetPorts: readonly TailnetPort[];
}

/**
 * The fixed cluster IPs, and the only addresses the tailnet reaches: the subnet router advertises
 * each as a /32 (and nothing else of the service range, which holds the API server's address),
 * and the tailnet policy grants the admins exactly its ports. DNS records point at them, so they
 * must never change when a Service is recreated. Every owner is listed here, once, so no two
 * collide; the indexes lie in the range's low band, which Kubernetes keeps for fixed addresses
 * before it hands out dynamic ones. Every server advertises every address, so an app moving
 * between servers needs no change to any router or to the policy; where no Service holds an
 * address, the routed traffic leads nowhere (the router's policies reach only the pods behind
 * these Services).
 */
export const reservedServiceAddresses = {
  /** The internal gateway (Traefik): every private app's HTTP and HTTPS, on its Service's 80 and 443. */
  "internal-gateway": {
    index: 53,
    tailnetPorts: [
      { port: 80, protocol: "TCP" },
      { port: 443, protocol: "TCP" },
    ],
  },
  /**
   * The private DNS server (the private-dns project): the private apps' names, for every device of
   * the tailnet (split DNS sends the private zone's queries here).
   */
  "private-dns": {
    index: 55,
    tailnetPorts: [
      { port: 53, protocol: "UDP" },
      { port: 53, protocol: "TCP" },
    ],
  },
  /** Syncthing's sync protocol (TCP, and QUIC over UDP), which no HTTP gateway carries. */
  syncthing: {
    index: 54,
    tailnetPorts: [
      { port: 22000, protocol: "TCP" },
      { port: 22000, protocol: "UDP" },
    ],
  },
} as const satisfies Record<string, ReservedServiceAddress>;

export type ServiceAddressOwner = keyof typeof reservedServiceAddresses;

const owners = Object.keys(reservedServiceAddresses) as ServiceAddressOwner[];

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/** The fixed cluster IP of `owner` in a server's service range. */
export function reservedServiceAddress(serviceCidr: string, owner: ServiceAddressOwner): string {
  const { index } = reservedServiceAddresses[owner];
  const [first] = cidrRange(serviceCidr);
  const address = toAddress(first + index);
  if (!cidrContains(serviceCidr, address)) {
    throw new Error(
      `The service range ${serviceCidr} is too small for the fixed address of ${owner} (its ${index}th ` +
        "address); use a /26 or larger range (network.serviceCidr in servers/<server>.json).",
    );
  }
  return address;
}

/** A fixed address of a server as the tailnet reaches it. */
export interface TailnetDestination {
  owner: ServiceAddressOwner;
  /** The address as a route: `<address>/32`. */
  route: string;
  ports: readonly TailnetPort[];
}

/**
 * What the tailnet reaches in a server's service range: every fixed address, as a /32, with its
 * ports. The server's subnet router advertises these routes and the tailnet policy grants them.
 */
export function tailnetDestinations(serviceCidr: string): TailnetDestination[] {
  return owners.map((owner) => ({
    owner,
    route: `${reservedServiceAddress(serviceCidr, owner)}/32`,
    ports: reservedServiceAddresses[owner].tailnetPorts,
  }));
}

const describePorts = (ports: readonly TailnetPort[]) =>
  ports.map((port) => `${port.port}/${port.protocol}`).join(", ") || "none";

/**
 * Fails unless a Service on `owner`'s fixed address serves exactly the ports the tailnet policy
 * grants there: a port it adds would stay unreachable, a port it lacks would be granted for nothing.
 */
export function checkTailnetPorts(
  owner: ServiceAddressOwner,
  ports: readonly { port: number; protocol?: "TCP" | "UDP" }[],
): void {
  const key = (port: { port: number; protocol?: "TCP" | "UDP" }) => `${port.port}/${port.protocol ?? "TCP"}`;
  const reserved = reservedServiceAddresses[owner].tailnetPorts;
  const served = new Set(ports.map(key));
  const granted = new Set(reserved.map(key));
  if (served.size === granted.size && [...served].every((port) => granted.has(port))) return;
  throw new Error(
    `The Service on the fixed address of ${owner} serves ${[...served].join(", ") || "no port"}, but the ` +
      `tailnet reaches ${describePorts(reserved)} there: change its tailnetPorts in reservedServiceAddresses ` +
      "(pulumi/projects/common/src/service-addresses.ts), which the subnet routers and the tailnet policy follow.",
  );
}
