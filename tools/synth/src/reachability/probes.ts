import { addressAfter, parseCidr } from "./addresses";
import { type ExplainOptions, explain, type FlowResult } from "./evaluate";
import type { Model } from "./model";
import { type Protocol, protocols } from "./ports";

export interface ProbePort {
  port: number;
  protocol: Protocol;
}

/**
 * Ports that decide every flow: each port a rule or a container names (a range by its first
 * and last port) and one port nothing names, for each protocol. Between them no rule's verdict
 * changes, so a flow denied at all of them is denied at every port.
 */
export function probePorts(model: Model): ProbePort[] {
  const named = new Set<number>();
  for (const policy of model.policies) {
    for (const rule of [...policy.ingress, ...policy.egress]) {
      for (const match of rule.ports ?? []) {
        if (match.port !== undefined) named.add(match.port);
        if (match.endPort !== undefined) named.add(match.endPort);
      }
    }
  }
  for (const endpoint of model.endpoints) for (const port of endpoint.ports) named.add(port.port);
  let unnamed = 1;
  while (named.has(unnamed)) unnamed += 1;
  return [...named, unnamed]
    .sort((a, b) => a - b)
    .flatMap((port) => protocols.map((protocol) => ({ port, protocol })));
}

function patternInstance(pattern: string): string {
  return pattern.replace(/^\*\*\./, "x.").replace(/\*/g, "x");
}

/**
 * Every sender worth asking about: each endpoint, the world at every address where what a rule
 * allows may begin or end (a range's first address, an exception's first and the one after it),
 * at every DNS name a rule names, and beyond them all.
 */
export function probeSources(model: Model): string[] {
  const world = new Set<string>(["world"]);
  for (const policy of model.policies) {
    for (const rule of [...policy.ingress, ...policy.egress]) {
      for (const range of rule.cidrs ?? []) {
        // What a range allows starts at its first address or right after one of its exceptions.
        world.add(`world:${parseCidr(range.cidr).address}`);
        for (const except of range.except) {
          world.add(`world:${parseCidr(except).address}`);
          const after = addressAfter(except);
          if (after !== undefined) world.add(`world:${after}`);
        }
      }
      for (const selector of rule.fqdns ?? []) {
        world.add(`world:${selector.matchName ?? patternInstance(selector.matchPattern ?? "*")}`);
      }
    }
  }
  return [...model.endpoints.map((endpoint) => endpoint.name), ...world];
}

/**
 * Every flow to the endpoint `to` the policies allow (fully or partly), at every probe port,
 * from each of `sources` (every probe source by default).
 */
export function openPaths(model: Model, to: string, sources: string[] = probeSources(model)): FlowResult[] {
  const ports = probePorts(model);
  return sources.flatMap((from) =>
    ports
      .map((port) => explain(model, { from, to, ...port }))
      .filter((result) => result.outcome !== "denied"),
  );
}

/**
 * Every flow from the endpoint `from` the policies allow (fully or partly), at every probe port,
 * to each of `targets` (every probe source by default: each endpoint, and the world at every
 * address and name a rule names and beyond them): what a pod can reach, for egress matrices.
 * With `senderOnly`, what its own egress policies let it send, whatever the receivers admit.
 */
export function egressPaths(
  model: Model,
  from: string,
  targets: string[] = probeSources(model),
  options: ExplainOptions = {},
): FlowResult[] {
  const ports = probePorts(model);
  return targets.flatMap((to) =>
    ports
      .map((port) => explain(model, { from, to, ...port }, options))
      .filter((result) => result.outcome !== "denied"),
  );
}
