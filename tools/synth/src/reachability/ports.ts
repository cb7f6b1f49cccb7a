/** A transport protocol a flow uses. */
export type Protocol = "TCP" | "UDP" | "SCTP";

export const protocols: Protocol[] = ["TCP", "UDP", "SCTP"];

/** One entry of a rule's `toPorts[].ports`, read. */
export interface PortMatch {
  /** The first port; undefined (port 0 or none) is every port. */
  port?: number;
  /** The last port of a range. */
  endPort?: number;
  /** A container port name, resolved against the destination's ports. */
  name?: string;
  /** `ANY` (or omitted) is every protocol with ports. */
  protocol: Protocol | "ANY";
}

/** A destination's container port, for named ports. */
export interface ContainerPort {
  name?: string;
  port: number;
  protocol: Protocol;
}

function portMatches(
  match: PortMatch,
  port: number,
  protocol: Protocol,
  namedPorts: ContainerPort[],
): boolean {
  if (match.protocol !== "ANY" && match.protocol !== protocol) return false;
  if (match.name !== undefined) {
    return namedPorts.some(
      (named) => named.name === match.name && named.port === port && named.protocol === protocol,
    );
  }
  if (match.port === undefined) return true;
  if (match.endPort !== undefined) return port >= match.port && port <= match.endPort;
  return port === match.port;
}

/** Whether a rule's ports (undefined: every port) admit a flow to a destination with these ports. */
export function portsAllow(
  ports: PortMatch[] | undefined,
  port: number,
  protocol: Protocol,
  namedPorts: ContainerPort[],
): boolean {
  return ports === undefined || ports.some((match) => portMatches(match, port, protocol, namedPorts));
}
