import { ipv4, port } from "@infra/core";
import { z } from "zod";

const nameserverExpected = "expected a resolver as <IPv4 address>:<port>, such as 1.1.1.1:53";

/** A recursive resolver as `<address>:<port>`. */
export interface Nameserver {
  address: string;
  port: number;
}

function parseNameserver(value: string): Nameserver | undefined {
  const match = /^([^:]+):(\d{1,5})$/.exec(value);
  if (!match?.[1] || !match[2] || !ipv4.safeParse(match[1]).success) return undefined;
  const number = Number(match[2]);
  return port.safeParse(number).success ? { address: match[1], port: number } : undefined;
}

/** One resolver, written `1.1.1.1:53`. */
export const nameserver = z
  .string({ error: nameserverExpected })
  .refine((value) => parseNameserver(value) !== undefined, { error: nameserverExpected });

/**
 * The resolvers cert-manager's DNS-01 self-check asks (and only those), instead of the
 * authoritative servers it would otherwise look up: the policy then allows a fixed set of
 * addresses. Plain DNS only; the default is Cloudflare's and Quad9's public resolvers.
 */
export const recursiveNameservers = z
  .array(nameserver, { error: "expected a list of resolvers such as [1.1.1.1:53, 9.9.9.9:53]" })
  .min(1)
  .default(["1.1.1.1:53", "9.9.9.9:53"]);

/** A validated resolver's address and port. */
export function splitNameserver(value: string): Nameserver {
  const parsed = parseNameserver(value);
  if (!parsed) throw new Error(`${value}: ${nameserverExpected}`);
  return parsed;
}
