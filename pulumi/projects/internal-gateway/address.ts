import { cidrContains, cidrRange } from "@infra/core";

/** Which address of the service range the internal gateway takes (.1 is the API server, .10 DNS). */
export const gatewayAddressIndex = 53;

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/**
 * The internal gateway's fixed cluster IP: the 53rd address of the server's service range. DNS
 * records point at it, so it never changes when the Service is recreated.
 */
export function gatewayAddress(serviceCidr: string): string {
  const [first] = cidrRange(serviceCidr);
  const address = toAddress(first + gatewayAddressIndex);
  if (!cidrContains(serviceCidr, address)) {
    throw new Error(
      `The service range ${serviceCidr} is too small for the internal gateway's address (its ` +
        `${gatewayAddressIndex}th address); use a /26 or larger range (shared:network.serviceCidr).`,
    );
  }
  return address;
}
