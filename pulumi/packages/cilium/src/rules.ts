import type { Workload, WorkloadService } from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { cidrContains } from "./cidr";

/** Cilium's built-in peer groups. */
export type Entity =
  | "world"
  | "cluster"
  | "host"
  | "remote-node"
  | "kube-apiserver"
  | "health"
  | "init"
  | "ingress"
  | "unmanaged"
  | "all";

/** A port (or range) with its protocol; TCP by default. */
export interface PortRule {
  port: number;
  /** Last port of a range starting at `port`. */
  endPort?: number;
  protocol?: "TCP" | "UDP" | "SCTP" | "ANY";
}

/** Who a rule allows traffic to or from. */
export type Peer =
  /**
   * Pods with these labels in one namespace: the policy's own when omitted, or any namespace in a
   * cluster-wide policy.
   */
  | { endpoints: Record<string, pulumi.Input<string>>; namespace?: pulumi.Input<string> }
  /** The pods of a workload. */
  | { workload: Workload }
  /**
   * The pods behind a Service with a selector, on its target ports (egress only: a Service
   * receives traffic). Rules are written against the selected pods rather than the Service,
   * which works on every Cilium version.
   */
  | { service: WorkloadService }
  /** Every pod of these namespaces. */
  | { namespaces: pulumi.Input<string>[] }
  /** Cilium entities: `world`, `host`, `kube-apiserver`... */
  | { entities: Entity[] }
  /** Address ranges (outside the cluster), with exceptions; each exception must lie in one of them. */
  | { cidrs: string[]; except?: string[] }
  /** A CiliumCIDRGroup by name. */
  | { cidrGroup: string }
  /** DNS names (egress only); the DNS rule FQDN matching needs is added to the policy. */
  | { fqdns: string[] }
  /** DNS name patterns such as `*.example.com` (egress only); the DNS rule is added too. */
  | { fqdnPatterns: string[] };

/** One allow rule: traffic between the selected pods and these peers, on these ports (all when omitted). */
export interface Rule {
  peers: Peer[];
  ports?: PortRule[];
}

const namespaceLabel = "k8s:io.kubernetes.pod.namespace";

/** An endpoint selector for pods with `labels` in `namespace`. */
export function endpointSelector(
  labels: Record<string, pulumi.Input<string>>,
  namespace?: pulumi.Input<string>,
): Record<string, unknown> {
  return { matchLabels: { ...labels, ...(namespace === undefined ? {} : { [namespaceLabel]: namespace }) } };
}

/** The selector of a workload's pods, in its namespace. */
export function workloadSelector(workload: Workload): Record<string, unknown> {
  return endpointSelector(workload.selector, workload.namespace.metadata.name);
}

function toPorts(ports: PortRule[]): Record<string, unknown>[] {
  return [
    {
      ports: ports.map((port) => ({
        port: String(port.port),
        ...(port.endPort === undefined ? {} : { endPort: port.endPort }),
        protocol: port.protocol ?? "TCP",
      })),
    },
  ];
}

/**
 * CIDR rules for these ranges. Cilium rejects a whole policy when an exception lies outside the
 * range it is attached to, so each range carries only the exceptions inside it.
 */
function cidrSet(cidrs: string[], except: string[] = []): Record<string, unknown>[] {
  const stray = except.filter((range) => !cidrs.some((cidr) => cidrContains(cidr, range)));
  if (stray.length > 0) {
    throw new Error(
      `CIDR exceptions ${stray.join(", ")} lie outside every allowed range (${cidrs.join(", ")})`,
    );
  }
  return cidrs.map((cidr) => {
    const inside = except.filter((range) => cidrContains(cidr, range));
    return { cidr, ...(inside.length > 0 ? { except: inside } : {}) };
  });
}

/** Whether a rule uses FQDN peers (and so needs DNS visibility). */
export function usesFqdns(rule: Rule): boolean {
  return rule.peers.some((peer) => "fqdns" in peer || "fqdnPatterns" in peer);
}

/**
 * Translates one rule into Cilium rules for a direction. Each peer becomes its own Cilium
 * rule, since Cilium rejects a rule that mixes kinds of peers (endpoints and entities, say);
 * ports of a Service peer come from the Service.
 */
export function translateRule(rule: Rule, direction: "ingress" | "egress"): Record<string, unknown>[] {
  // A rule without peers would be dropped silently, leaving a path closed that was meant to open.
  if (rule.peers.length === 0) throw new Error(`An ${direction} rule needs at least one peer`);
  const to = direction === "egress";
  const ports = rule.ports && rule.ports.length > 0 ? { toPorts: toPorts(rule.ports) } : {};
  return rule.peers.map((peer) => {
    if ("endpoints" in peer) {
      return {
        [to ? "toEndpoints" : "fromEndpoints"]: [endpointSelector(peer.endpoints, peer.namespace)],
        ...ports,
      };
    }
    if ("workload" in peer)
      return { [to ? "toEndpoints" : "fromEndpoints"]: [workloadSelector(peer.workload)], ...ports };
    if ("service" in peer) {
      // As a source it would mean "from the pods behind the Service", and its port would wrongly
      // restrict the subject's own ports.
      if (!to) throw new Error("Service peers are only allowed in egress rules; use its workload in ingress");
      // The container port behind the Service's named target port: policies apply after the
      // Service's address is translated to a pod's.
      const servicePorts =
        rule.ports && rule.ports.length > 0 ? rule.ports : [{ port: peer.service.port.number }];
      return { toEndpoints: [workloadSelector(peer.service.workload)], toPorts: toPorts(servicePorts) };
    }
    if ("namespaces" in peer) {
      return {
        [to ? "toEndpoints" : "fromEndpoints"]: [
          { matchExpressions: [{ key: namespaceLabel, operator: "In", values: peer.namespaces }] },
        ],
        ...ports,
      };
    }
    if ("entities" in peer) return { [to ? "toEntities" : "fromEntities"]: peer.entities, ...ports };
    if ("cidrs" in peer)
      return { [to ? "toCIDRSet" : "fromCIDRSet"]: cidrSet(peer.cidrs, peer.except), ...ports };
    if ("cidrGroup" in peer) {
      return { [to ? "toCIDRSet" : "fromCIDRSet"]: [{ cidrGroupRef: peer.cidrGroup }], ...ports };
    }
    if (!to) throw new Error("FQDN peers are only allowed in egress rules");
    const names = "fqdns" in peer ? peer.fqdns.map((matchName) => ({ matchName })) : [];
    const patterns =
      "fqdnPatterns" in peer ? peer.fqdnPatterns.map((matchPattern) => ({ matchPattern })) : [];
    return { toFQDNs: [...names, ...patterns], ...ports };
  });
}

/**
 * The DNS rule FQDN matching needs: queries to kube-dns go through Cilium's DNS proxy, which
 * learns the addresses behind the allowed names.
 */
export function dnsVisibilityRule(): Record<string, unknown> {
  return {
    toEndpoints: [endpointSelector({ "k8s:k8s-app": "kube-dns" }, "kube-system")],
    toPorts: [
      {
        ports: [
          { port: "53", protocol: "UDP" },
          { port: "53", protocol: "TCP" },
        ],
        rules: { dns: [{ matchPattern: "*" }] },
      },
    ],
  };
}

/** Resolves a namespace object or name to its name. */
export function namespaceName(namespace: k8s.core.v1.Namespace | pulumi.Input<string>): pulumi.Input<string> {
  return typeof namespace === "object" && namespace !== null && "metadata" in namespace
    ? (namespace as k8s.core.v1.Namespace).metadata.name
    : pulumi.output(namespace as pulumi.Input<string>);
}
