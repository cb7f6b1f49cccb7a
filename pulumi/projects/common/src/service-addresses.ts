import { cidrContains, cidrRange } from "@infra/core";

/**
 * Fixed cluster IPs, by which index of a server's service range they take (.1 is the API server,
 * .10 the cluster DNS). They are reached from the tailnet through the subnet router, and DNS
 * records point at them, so they must never change when a Service is recreated. Every owner is
 * listed here, once, so no two collide; the indexes lie in the range's low band, which Kubernetes
 * keeps for fixed addresses before it hands out dynamic ones.
 */
export const reservedServiceAddresses = {
  /** The internal gateway (Traefik): every private app's HTTPS. */
  "internal-gateway": 53,
  /** Syncthing's sync protocol (TCP and UDP), which no HTTP gateway carries. */
  syncthing: 54,
} as const;

export type ServiceAddressOwner = keyof typeof reservedServiceAddresses;

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/** The fixed cluster IP of `owner` in a server's service range. */
export function reservedServiceAddress(serviceCidr: string, owner: ServiceAddressOwner): string {
  const index = reservedServiceAddresses[owner];
  const [first] = cidrRange(serviceCidr);
  const address = toAddress(first + index);
  if (!cidrContains(serviceCidr, address)) {
    throw new Error(
      `The service range ${serviceCidr} is too small for the fixed address of ${owner} (its ${index}th ` +
        "address); use a /26 or larger range (shared:network.serviceCidr).",
    );
  }
  return address;
}
