import { BlockList, isIP } from "node:net";

interface Range {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

function parseCidr(cidr: string): Range {
  const [address = "", prefix = "", ...rest] = cidr.split("/");
  const version = isIP(address);
  const bits = version === 4 ? 32 : 128;
  if (version === 0 || rest.length > 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
    throw new Error(`"${cidr}" is not an address range in CIDR notation (address/prefix)`);
  }
  return { address, prefix: Number(prefix), family: version === 4 ? "ipv4" : "ipv6" };
}

/** Whether the address range `inner` lies inside `outer` (both in CIDR notation, same family). */
export function cidrContains(outer: string, inner: string): boolean {
  const range = parseCidr(outer);
  const candidate = parseCidr(inner);
  if (range.family !== candidate.family || candidate.prefix < range.prefix) return false;
  const list = new BlockList();
  list.addSubnet(range.address, range.prefix, range.family);
  return list.check(candidate.address, candidate.family);
}
