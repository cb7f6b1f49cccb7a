import { isIP } from "node:net";
import { addressInCidr, fqdnMatches, parseCidr } from "./addresses";
import { selectorMatches } from "./labels";
import type { Endpoint, Model, Policy, PolicyRule } from "./model";
import { type ContainerPort, type Protocol, portsAllow } from "./ports";

/** A flow to check: `from` and `to` name endpoints (see `resolveEndpoints`). */
export interface Flow {
  from: string;
  to: string;
  port: number;
  /** TCP when omitted. */
  protocol?: Protocol;
}

export type Outcome = "allowed" | "denied" | "partly allowed";

export interface FlowResult extends Required<Flow> {
  outcome: Outcome;
  /** Which rules allow it, or which side denies it. */
  reason: string;
}

export interface Expectation extends Flow {
  allowed: boolean;
}

/** How a flow is decided. */
export interface ExplainOptions {
  /**
   * Decide by the sender's egress policies alone, whatever the receiver admits: what the sender
   * could reach were every receiver open, which is what an egress matrix checks.
   * @default false
   */
  senderOnly?: boolean;
}

// Entities are groups of Cilium's reserved labels; `cluster` also holds every pod of the cluster.
const clusterLabels = ["host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"];

function entityMatches(entity: string, endpoint: Endpoint): boolean {
  if (entity === "all") return true;
  if (entity === "cluster") {
    return (
      clusterLabels.some((label) => `reserved:${label}` in endpoint.labels) ||
      "k8s:io.cilium.k8s.policy.cluster" in endpoint.labels
    );
  }
  return `reserved:${entity}` in endpoint.labels;
}

// A world endpoint without an address stands for an address no rule names: only ranges
// covering a whole address family hold it.
function cidrMatches(range: { cidr: string; except: string[] }, endpoint: Endpoint): boolean {
  if (endpoint.kind !== "world") return false;
  if (endpoint.address === undefined) return parseCidr(range.cidr).prefix === 0 && range.except.length === 0;
  return (
    addressInCidr(endpoint.address, range.cidr) &&
    !range.except.some((except) => addressInCidr(endpoint.address as string, except))
  );
}

// Which policies select an endpoint is asked for every flow: remembered per model and endpoint.
const selections = new WeakMap<Model, Map<string, Policy[]>>();

function selects(model: Model, subject: Endpoint): Policy[] {
  let byName = selections.get(model);
  if (!byName) {
    byName = new Map();
    selections.set(model, byName);
  }
  let found = byName.get(subject.name);
  if (!found) {
    found = model.policies.filter((policy) => selectorMatches(policy.subject, subject.labels));
    byName.set(subject.name, found);
  }
  return found;
}

// FQDN rules only learn addresses from DNS answers Cilium's proxy sees: some rule must send the
// source's lookups of the name through it.
function dnsVisible(model: Model, source: Endpoint, name: string): boolean {
  return selects(model, source).some((policy) =>
    policy.egress.some((rule) => rule.dns.some((selector) => fqdnMatches(selector, name))),
  );
}

function peerMatches(model: Model, rule: PolicyRule, subject: Endpoint, peer: Endpoint): boolean {
  const { endpoints, entities, cidrs, fqdns } = rule;
  // A rule naming no peers (only ports, or nothing) holds for every peer.
  if (!endpoints && !entities && !cidrs && !fqdns) return true;
  return (
    (endpoints?.some((selector) => selectorMatches(selector, peer.labels)) ?? false) ||
    (entities?.some((entity) => entityMatches(entity, peer)) ?? false) ||
    (cidrs?.some((range) => cidrMatches(range, peer)) ?? false) ||
    (fqdns?.some(
      (selector) =>
        peer.kind === "world" &&
        peer.fqdn !== undefined &&
        fqdnMatches(selector, peer.fqdn) &&
        dnsVisible(model, subject, peer.fqdn),
    ) ??
      false)
  );
}

/** Rules of policies selecting `subject` that let it exchange this traffic with `peer`. */
function allowingRules(
  model: Model,
  direction: "ingress" | "egress",
  subject: Endpoint,
  peer: Endpoint,
  port: number,
  protocol: Protocol,
  destinationPorts: ContainerPort[],
): string[] {
  return selects(model, subject).flatMap((policy) =>
    policy[direction]
      .filter(
        (rule) =>
          peerMatches(model, rule, subject, peer) && portsAllow(rule.ports, port, protocol, destinationPorts),
      )
      .map((rule) => rule.id),
  );
}

interface PairResult {
  allowed: boolean;
  reason: string;
}

/**
 * Whether one endpoint may send to another under policy enforcement "always": the source's
 * policies must allow it out (unless Cilium does not police the source) and the destination's
 * policies must allow it in (likewise).
 */
function decide(
  model: Model,
  source: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: Protocol,
  senderOnly: boolean,
): PairResult {
  const egress = source.enforced
    ? allowingRules(model, "egress", source, destination, port, protocol, destination.ports)
    : undefined;
  const ingress =
    destination.enforced && !senderOnly
      ? allowingRules(model, "ingress", destination, source, port, protocol, destination.ports)
      : undefined;
  const denials = [
    ...(egress?.length === 0 ? [`no egress rule of a policy selecting ${source.name} allows it`] : []),
    ...(ingress?.length === 0 ? [`no ingress rule of a policy selecting ${destination.name} allows it`] : []),
  ];
  if (denials.length > 0) return { allowed: false, reason: denials.join("; ") };
  const by = (rules: string[] | undefined, side: string) =>
    rules ? rules.join(", ") : `${side} is not policed`;
  if (senderOnly) return { allowed: true, reason: `egress: ${by(egress, source.name)}` };
  return {
    allowed: true,
    reason: `egress: ${by(egress, source.name)}; ingress: ${by(ingress, destination.name)}`,
  };
}

function worldEndpoint(detail?: string): Endpoint {
  const base = { kind: "world" as const, labels: { "reserved:world": "" }, enforced: false, ports: [] };
  const common = { ...base, subnetRouter: false, origin: "outside the cluster" };
  if (detail === undefined) return { ...common, name: "world" };
  return isIP(detail) === 0
    ? { ...common, name: `world:${detail}`, fqdn: detail }
    : { ...common, name: `world:${detail}`, address: detail };
}

/**
 * The endpoints a name stands for: `<namespace>/<workload>`, `host`, `kube-apiserver`,
 * `health`, `world`, `world:<address>`, `world:<dns name>`, `tailnet` (the Tailscale subnet
 * routers' pods, which tailnet traffic arrives from) or `service:<namespace>/<name>` (its pods).
 */
export function resolveEndpoints(model: Model, name: string): Endpoint[] {
  if (name === "world") return [worldEndpoint()];
  if (name.startsWith("world:")) return [worldEndpoint(name.slice("world:".length))];
  if (name === "tailnet") {
    const routers = model.endpoints.filter((endpoint) => endpoint.subnetRouter);
    if (routers.length === 0)
      throw new Error("The model has no Tailscale subnet router (a pod setting TS_ROUTES)");
    return routers;
  }
  if (name.startsWith("service:")) {
    const service = model.services.find((candidate) => candidate.name === name.slice("service:".length));
    if (!service)
      throw new Error(`The model has no Service ${name.slice("service:".length)} with a selector`);
    const backends = model.endpoints.filter(
      (endpoint) =>
        endpoint.kind === "pod" &&
        endpoint.namespace === service.namespace &&
        Object.entries(service.selector).every(([key, value]) => endpoint.labels[`k8s:${key}`] === value),
    );
    if (backends.length === 0) throw new Error(`Service ${service.name} selects no pod of the model`);
    return backends;
  }
  const found = model.endpoints.filter((endpoint) => endpoint.name === name);
  if (found.length === 0) throw new Error(`The model has no endpoint named ${name}`);
  return found;
}

// Traffic to a Service port reaches its pods on the target port (a named one per pod).
function targetPort(
  model: Model,
  to: string,
  destination: Endpoint,
  port: number,
  protocol: Protocol,
): number {
  if (!to.startsWith("service:")) return port;
  const service = model.services.find((candidate) => `service:${candidate.name}` === to);
  const servicePort = service?.ports.find((entry) => entry.port === port && entry.protocol === protocol);
  if (!servicePort) throw new Error(`Service ${to.slice("service:".length)} has no port ${port}/${protocol}`);
  if (typeof servicePort.targetPort === "number") return servicePort.targetPort;
  if (/^\d+$/.test(servicePort.targetPort)) return Number(servicePort.targetPort);
  const named = destination.ports.find(
    (entry) => entry.name === servicePort.targetPort && entry.protocol === protocol,
  );
  if (!named) throw new Error(`${destination.name} has no port named ${servicePort.targetPort}`);
  return named.port;
}

/** `from → to:port/protocol`, as every result and failure names a flow. */
export function describeFlow(flow: Flow): string {
  return `${flow.from} → ${flow.to}:${flow.port}/${flow.protocol ?? "TCP"}`;
}

/**
 * Whether `from` may reach `to` on a port (or, with `senderOnly`, whether `from`'s egress
 * policies let it send there). A name that stands for several endpoints (the tailnet's routers,
 * a Service's pods) is allowed when every pair is, denied when none is.
 */
export function explain(model: Model, flow: Flow, options: ExplainOptions = {}): FlowResult {
  const protocol = flow.protocol ?? "TCP";
  const senderOnly = options.senderOnly ?? false;
  const pairs = resolveEndpoints(model, flow.from).flatMap((source) =>
    resolveEndpoints(model, flow.to).map((destination) => {
      const port = targetPort(model, flow.to, destination, flow.port, protocol);
      return { source, destination, ...decide(model, source, destination, port, protocol, senderOnly) };
    }),
  );
  const allowed = pairs.filter((pair) => pair.allowed);
  const outcome: Outcome =
    allowed.length === pairs.length ? "allowed" : allowed.length === 0 ? "denied" : "partly allowed";
  const reason =
    pairs.length === 1
      ? (pairs[0]?.reason ?? "")
      : pairs.map((pair) => `${pair.source.name} → ${pair.destination.name}: ${pair.reason}`).join(" | ");
  return { from: flow.from, to: flow.to, port: flow.port, protocol, outcome, reason };
}

/** Whether `from` may reach `to` on `port` (every endpoint each name stands for). */
export function canReach(
  model: Model,
  from: string,
  to: string,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  return explain(model, { from, to, port, protocol }).outcome === "allowed";
}

/** The outcome of every flow. */
export function reachabilityMatrix(model: Model, flows: Flow[]): FlowResult[] {
  return flows.map((flow) => explain(model, flow));
}

/**
 * Checks an intended matrix: one message per flow whose outcome differs, naming the path, e.g.
 * `apps/web → kube-system/coredns:53/UDP: expected allowed, got denied (no egress rule ...)`.
 */
export function checkReachability(
  model: Model,
  expectations: Expectation[],
  options: ExplainOptions = {},
): string[] {
  return expectations.flatMap((expectation) => {
    const result = explain(model, expectation, options);
    const expected = expectation.allowed ? "allowed" : "denied";
    if (result.outcome === expected) return [];
    return [`${describeFlow(result)}: expected ${expected}, got ${result.outcome} (${result.reason})`];
  });
}
