import { privateDnsPods } from "@projects/common";

/**
 * The port Knot listens on inside its pod (UDP and TCP): above 1024, so it needs no capability.
 * The subnet router's egress policy (internal-gateway) allows this port, from the same constant.
 */
export const knotPort = privateDnsPods.port;

/**
 * Where Knot finds its files in the pod: the ConfigMap (knot.conf and the zone file, read-only),
 * and scratch directories, since the root filesystem is read-only. The first three are the paths
 * the official image is built with.
 */
export const knotPaths = {
  config: "/config",
  /** The PID file and the control socket. */
  rundir: "/rundir",
  /** The timer database (when each zone was loaded); nothing that must survive the pod. */
  storage: "/storage",
  /**
   * Knot loads a text knot.conf into a database under /tmp (`/tmp/knot-confdb.XXXXXX`, fixed in
   * its code, in every version): a scratch directory there too.
   */
  tmp: "/tmp",
} as const;

/** The zone file's name in the ConfigMap. */
export const zoneFileName = "private.zone";

export interface KnotConfArgs {
  /** The zone it is authoritative for, without the trailing dot. */
  zone: string;
  /** @default `<knotPaths.config>/<zoneFileName>` */
  zoneFile?: string;
  /** @default { address: "0.0.0.0", port: knotPort } */
  listen?: { address: string; port: number };
  /** @default knotPaths.rundir */
  rundir?: string;
  /** @default knotPaths.storage */
  storage?: string;
}

/**
 * Knot's configuration (valid for Knot 3.2 to 3.5): authoritative for the private zone only,
 * loaded whole from its file at start. Knot writes nothing back (no journal, no zone file sync),
 * and with no ACL it refuses zone transfers, NOTIFY and dynamic updates; a query for any other
 * name is refused, since it resolves nothing recursively. It logs to standard output.
 */
export function renderKnotConf(args: KnotConfArgs): string {
  const listen = args.listen ?? { address: "0.0.0.0", port: knotPort };
  const zoneFile = args.zoneFile ?? `${knotPaths.config}/${zoneFileName}`;
  const quoted = (value: string) => JSON.stringify(value);
  return [
    "# Knot DNS, authoritative for the private zone only (rendered by the private-dns project).",
    "server:",
    `    rundir: ${quoted(args.rundir ?? knotPaths.rundir)}`,
    `    listen: ${listen.address}@${listen.port}`,
    // Answers for the zone's names only: no version or host name to CHAOS queries.
    '    identity: ""',
    '    version: ""',
    "",
    "database:",
    `    storage: ${quoted(args.storage ?? knotPaths.storage)}`,
    "",
    "log:",
    "  - target: stdout",
    "    any: info",
    "",
    // No acl section: transfers, NOTIFY and updates are refused.
    "template:",
    "  - id: default",
    "    semantic-checks: on",
    // The file is the zone, loaded whole at every start: Knot keeps no history of its own...
    "    zonefile-load: whole",
    "    journal-content: none",
    // ...and never writes the file (read-only, in the ConfigMap).
    "    zonefile-sync: -1",
    "",
    "zone:",
    `  - domain: ${args.zone}.`,
    `    file: ${quoted(zoneFile)}`,
    "",
  ].join("\n");
}
