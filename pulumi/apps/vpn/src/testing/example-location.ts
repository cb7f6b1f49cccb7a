import type { VpnLocation } from "../wireguard-config";

/** A stand-in WireGuard key: valid in form, used by nobody. */
export function placeholderKey(fill: number): string {
  return Buffer.alloc(32, fill).toString("base64");
}

/**
 * A location shaped like a provider's (tunnel address and DNS in private space, endpoint in the
 * documentation range); real ones live in stack config.
 */
export const exampleLocation: VpnLocation = {
  name: "example",
  endpoint: "192.0.2.10:51820",
  publicKey: placeholderKey(1),
  address: "10.0.0.2/32",
  dns: "10.0.0.1",
};
