import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Cloudflare's address ranges, pinned once for the whole repository: the hosts' and the cloud
 * providers' firewalls read the same file, so every layer admits the same proxies. Update it
 * from https://www.cloudflare.com/ips/ when Cloudflare publishes a change (docs/servers.md).
 */
export const cloudflareRangesFile = join(__dirname, "..", "..", "..", "nixos", "cloudflare-ip-ranges.json");

/** The pinned ranges, IPv4 then IPv6. */
export function readCloudflareRanges(): string[] {
  const pinned = JSON.parse(readFileSync(cloudflareRangesFile, "utf8")) as {
    ipv4Cidrs: string[];
    ipv6Cidrs: string[];
  };
  return [...pinned.ipv4Cidrs, ...pinned.ipv6Cidrs];
}
