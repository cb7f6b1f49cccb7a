import { BlockList, isIP } from "node:net";

interface Range {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** Parses `address/prefix`; throws on anything else. */
export function parseCidr(cidr: string): Range {
  const [address = "", prefix = "", ...rest] = cidr.split("/");
  const version = isIP(address);
  const bits = version === 4 ? 32 : 128;
  if (version === 0 || rest.length > 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
    throw new Error(`"${cidr}" is not an address range in CIDR notation (address/prefix)`);
  }
  return { address, prefix: Number(prefix), family: version === 4 ? "ipv4" : "ipv6" };
}

function toNumber(address: string, family: Range["family"]): bigint {
  if (family === "ipv4")
    return address.split(".").reduce((value, octet) => (value << 8n) | BigInt(octet), 0n);
  // An IPv6 address may end in a dotted IPv4 address and elide zero groups with "::".
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  const hex = dotted
    ? address.replace(
        dotted,
        ((n) => `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`)(toNumber(dotted, "ipv4")),
      )
    : address;
  const [head = "", tail] = hex.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const missing = 8 - groups(head).length - groups(tail ?? "").length;
  return [
    ...groups(head),
    ...Array<string>(tail === undefined ? 0 : missing).fill("0"),
    ...groups(tail ?? ""),
  ].reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

function fromNumber(value: bigint, family: Range["family"]): string {
  if (family === "ipv4") return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  return Array.from({ length: 8 }, (_, index) =>
    ((value >> BigInt(112 - 16 * index)) & 0xffffn).toString(16),
  ).join(":");
}

/** The first address after a CIDR range, or undefined when the range ends its family's space. */
export function addressAfter(cidr: string): string | undefined {
  const range = parseCidr(cidr);
  const bits = range.family === "ipv4" ? 32n : 128n;
  const size = 1n << (bits - BigInt(range.prefix));
  const start = (toNumber(range.address, range.family) / size) * size;
  const next = start + size;
  return next >= 1n << bits ? undefined : fromNumber(next, range.family);
}

/** Whether an IP address lies in a CIDR range (of the same family). */
export function addressInCidr(address: string, cidr: string): boolean {
  const range = parseCidr(cidr);
  const version = isIP(address);
  if (version === 0) throw new Error(`"${address}" is not an IP address`);
  if ((version === 4 ? "ipv4" : "ipv6") !== range.family) return false;
  const list = new BlockList();
  list.addSubnet(range.address, range.prefix, range.family);
  return list.check(address, range.family);
}

/** A name or pattern of a `toFQDNs` entry or an L7 DNS rule. */
export interface FqdnSelector {
  matchName?: string;
  matchPattern?: string;
}

const normalize = (name: string) => name.toLowerCase().replace(/\.$/, "");

/**
 * Whether a DNS name matches, as Cilium matches it: names exactly (case and a trailing dot
 * aside); in patterns `*` alone matches every name, a leading `**.` one or more labels, and
 * any other `*` part of one label.
 */
export function fqdnMatches(selector: FqdnSelector, name: string): boolean {
  const candidate = normalize(name);
  if (selector.matchName !== undefined) return normalize(selector.matchName) === candidate;
  const pattern = normalize(selector.matchPattern ?? "");
  if (pattern === "*") return true;
  const label = "[-a-z0-9_]";
  const multi = pattern.startsWith("**.");
  const body = (multi ? pattern.slice(3) : pattern)
    .split("*")
    .map((part) => part.replace(/[.]/g, "\\."))
    .join(`${label}*`);
  return new RegExp(`^${multi ? `(?:${label}+\\.)+` : ""}${body}$`).test(candidate);
}
