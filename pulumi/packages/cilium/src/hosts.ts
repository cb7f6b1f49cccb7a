import { isIP } from "node:net";
import type { Peer } from "./rules";

/** Hosts outside the cluster, sorted into what a Cilium egress rule can name. */
export interface ExternalHosts {
  /** DNS names. */
  fqdns: string[];
  /** `*.example.com` patterns. */
  fqdnPatterns: string[];
  /** IPv4 ranges (an address is a /32). */
  cidrs: string[];
}

const isAddressOrRange = (host: string) => isIP(host.split("/")[0] ?? "") === 4;

/**
 * Sorts hosts (DNS names, `*.` patterns, IPv4 addresses or CIDRs, as config validation accepts
 * them) into names, patterns and ranges.
 */
export function classifyHosts(hosts: readonly string[]): ExternalHosts {
  return {
    fqdns: hosts.filter((host) => !isAddressOrRange(host) && !host.startsWith("*.")),
    fqdnPatterns: hosts.filter((host) => host.startsWith("*.")),
    cidrs: hosts.filter(isAddressOrRange).map((host) => (host.includes("/") ? host : `${host}/32`)),
  };
}

/** The peers of an egress rule to these hosts: one per kind present (Cilium rejects mixed peers). */
export function hostPeers(hosts: ExternalHosts): Peer[] {
  return [
    ...(hosts.fqdns.length > 0 ? [{ fqdns: hosts.fqdns }] : []),
    ...(hosts.fqdnPatterns.length > 0 ? [{ fqdnPatterns: hosts.fqdnPatterns }] : []),
    ...(hosts.cidrs.length > 0 ? [{ cidrs: hosts.cidrs }] : []),
  ];
}
