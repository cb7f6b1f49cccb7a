import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";
import { dnsLabel, domainName } from "@infra/core";

/** A name the zone answers, and the IPv4 address it resolves to. */
export interface ZoneName {
  hostname: string;
  address: string;
}

/** One server's DNS server: an authoritative nameserver of the zone. */
export interface Nameserver {
  /** The server's name: the nameserver is `ns.<server>.<zone>`. */
  server: string;
  /** The DNS server's fixed cluster IP on that server. */
  address: string;
}

export interface ZoneArgs {
  /** The private zone, without the trailing dot (`internal.example.com`). */
  zone: string;
  /** Every server's DNS server (each serves the same zone): its NS records, each with an A record. */
  nameservers: Nameserver[];
  /** The names it answers: each inside the zone, once. */
  names: ZoneName[];
  /**
   * Seconds resolvers cache an answer, and a name's absence: how long a client may still use an
   * app's old address after it moved, or miss a name just added.
   * @default 60
   */
  ttl?: number;
}

/** The nameserver name of a server, relative to the zone. */
function nameserverLabel(server: string): string {
  return `ns.${server}`;
}

function relativeOwner(hostname: string, zone: string): string {
  // Only plain names reach the file: nothing a name holds can add a record or a directive.
  if (!domainName.safeParse(hostname).success) {
    throw new Error(`The private name "${hostname}" is not a lower-case DNS name such as vault.${zone}`);
  }
  if (hostname === zone) return "@";
  if (hostname.endsWith(`.${zone}`)) return hostname.slice(0, -(zone.length + 1));
  throw new Error(
    `The private name ${hostname} is not in the private zone ${zone}: the private DNS answers names of ` +
      "that zone only (privateDomain in servers/site.json, and the apps' private hostnames under it).",
  );
}

function addressRecord(owner: string, address: string, what: string): string {
  if (!isIPv4(address)) throw new Error(`The address ${address} of ${what} is not an IPv4 address`);
  return `${owner} IN A ${address}`;
}

/**
 * The zone file (RFC 1035) of the private zone: its SOA, an NS record per server, and an A record
 * per name. It is the same on every server, so any of them answers for the others. No zone
 * transfers or updates change it, so the SOA serial only has to differ when the records do: it
 * is derived from them.
 */
export function renderZone(args: ZoneArgs): string {
  const { zone } = args;
  const ttl = args.ttl ?? 60;
  if (!domainName.safeParse(zone).success) {
    throw new Error(`The private zone "${zone}" is not a lower-case DNS name such as internal.example.com`);
  }
  if (args.nameservers.length === 0) throw new Error(`The private zone ${zone} needs a nameserver`);
  for (const ns of args.nameservers) {
    if (!dnsLabel.safeParse(ns.server).success)
      throw new Error(`The server name "${ns.server}" is not a DNS label`);
  }
  const nameservers = [...args.nameservers].sort((a, b) => byCodeUnits(a.server, b.server));
  const owners = new Map<string, string>();
  const claim = (owner: string, what: string) => {
    const held = owners.get(owner);
    if (held) throw new Error(`The name ${owner} of the private zone ${zone} is both ${held} and ${what}`);
    owners.set(owner, what);
  };
  const nsRecords = nameservers.map((ns) => `@ IN NS ${nameserverLabel(ns.server)}`);
  const glue = nameservers.map((ns) => {
    const owner = nameserverLabel(ns.server);
    claim(owner, `the nameserver of ${ns.server}`);
    return addressRecord(owner, ns.address, `the nameserver of ${ns.server}`);
  });
  const names = [...args.names]
    .map((name) => ({ owner: relativeOwner(name.hostname, zone), name }))
    .sort((a, b) => byCodeUnits(a.owner, b.owner));
  const records = names.map(({ owner, name }) => {
    claim(owner, `the private name ${name.hostname}`);
    return addressRecord(owner, name.address, `the private name ${name.hostname}`);
  });
  const body = [...nsRecords, ...glue, ...records];
  const serial = zoneSerial([`ttl ${ttl}`, ...body]);
  // The primary (MNAME) is informative only here: nothing transfers the zone or notifies anyone.
  const primary = nameserverLabel((nameservers[0] as Nameserver).server);
  // refresh, retry and expire concern secondaries, which there are none of; the last field is
  // how long a resolver caches a name's absence.
  const soa = `@ IN SOA ${primary} hostmaster ${serial} 3600 600 1209600 ${ttl}`;
  return [
    `; The private zone ${zone}: every private name of the site (rendered by the private-dns project).`,
    `$ORIGIN ${zone}.`,
    `$TTL ${ttl}`,
    soa,
    ...body,
    "",
  ].join("\n");
}

// Not localeCompare: the order (and so the serial) must not depend on the machine's locale.
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An unsigned 32-bit serial from the records: another record set, another serial. */
function zoneSerial(lines: string[]): number {
  return createHash("sha256").update(lines.join("\n")).digest().readUInt32BE(0);
}
