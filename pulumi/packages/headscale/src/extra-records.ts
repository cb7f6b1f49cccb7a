/** A private name and the fixed address it resolves to (a `SitePrivateName` of @projects/common). */
export interface PrivateNameRecord {
  hostname: string;
  address: string;
}

/**
 * The JSON file `dns.extra_records_path` names: one A record per private name (the addresses are
 * IPv4 cluster IPs; Tailscale clients serve only A and AAAA extra records, docs/ref/dns.md). Sorted
 * by name with keys in a fixed order, so the same names always give the same bytes: Headscale
 * compares the file's checksum and the docs ask for stable output. A name listed twice with two
 * addresses fails.
 */
export function renderExtraRecords(names: readonly PrivateNameRecord[]): string {
  const byName = new Map<string, string>();
  for (const { hostname, address } of names) {
    const held = byName.get(hostname);
    if (held !== undefined && held !== address) {
      throw new Error(`Extra DNS records: ${hostname} is both ${held} and ${address}`);
    }
    byName.set(hostname, address);
  }
  const records = [...byName]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, type: "A", value }));
  return `${JSON.stringify(records, null, 2)}\n`;
}
