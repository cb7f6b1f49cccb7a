import type { Workload, WorkloadService } from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { createPolicy } from "./policy";
import type { PortRule } from "./rules";

/** The API server's port on k3s (policies apply after service translation). */
export const apiServerPort = 6443;

/** Lets every pod of a namespace talk to every other pod of the same namespace, both ways. */
export function allowWithinNamespace(namespace: k8s.core.v1.Namespace): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: "allow-within-namespace",
    description: "Pods of this namespace talk to each other.",
    namespace,
    subject: "all",
    ingress: [{ peers: [{ endpoints: {} }] }],
    egress: [{ peers: [{ endpoints: {} }] }],
  });
}

/** Lets pods of other namespaces reach a workload (on the given ports, or all). */
export function allowFromNamespaces(args: {
  workload: Workload;
  namespaces: pulumi.Input<string>[];
  ports?: PortRule[];
  name?: string;
}): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: args.name ?? `${args.workload.name}-from-namespaces`,
    description: `Pods of the listed namespaces reach ${args.workload.name}.`,
    namespace: args.workload.namespace,
    subject: { workload: args.workload },
    ingress: [{ peers: [{ namespaces: args.namespaces }], ...(args.ports ? { ports: args.ports } : {}) }],
  });
}

/**
 * Lets a workload reach a Service's pods: an egress policy for the client and an ingress policy
 * for the server, both needed under default deny.
 */
export function allowToService(args: { from: Workload; service: WorkloadService; name?: string }): {
  egress: k8s.apiextensions.CustomResource;
  ingress: k8s.apiextensions.CustomResource;
} {
  const name = args.name ?? `${args.from.name}-to-${args.service.workload.name}`;
  const ports = [{ port: args.service.port.number }];
  return {
    egress: createPolicy({
      name: `${name}-egress`,
      description: `${args.from.name} reaches ${args.service.workload.name}.`,
      namespace: args.from.namespace,
      subject: { workload: args.from },
      egress: [{ peers: [{ service: args.service }], ports }],
    }),
    ingress: createPolicy({
      name: `${name}-ingress`,
      description: `${args.service.workload.name} accepts ${args.from.name}.`,
      namespace: args.service.workload.namespace,
      subject: { workload: args.service.workload },
      ingress: [{ peers: [{ workload: args.from }], ports }],
    }),
  };
}

/** Lets a workload call the Kubernetes API server (opt-in: most apps never need it). */
export function allowToApiServer(workload: Workload): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: `${workload.name}-to-api-server`,
    description: `${workload.name} calls the Kubernetes API server.`,
    namespace: workload.namespace,
    subject: { workload },
    egress: [{ peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: apiServerPort }] }],
  });
}

/** Lets a workload reach anything outside the cluster on the given ports (HTTPS by default). */
export function allowToInternet(
  workload: Workload,
  ports: PortRule[] = [{ port: 443 }],
): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: `${workload.name}-to-internet`,
    description: `${workload.name} reaches the internet on ${ports.map((port) => port.port).join(", ")}.`,
    namespace: workload.namespace,
    subject: { workload },
    egress: [{ peers: [{ entities: ["world"] }], ports }],
  });
}

/** Lets a workload reach these DNS names only (HTTPS by default); the DNS rule is added. */
export function allowToFqdns(
  workload: Workload,
  fqdns: string[],
  ports: PortRule[] = [{ port: 443 }],
  name = `${workload.name}-to-fqdns`,
): k8s.apiextensions.CustomResource {
  const exact = fqdns.filter((fqdn) => !fqdn.includes("*"));
  const patterns = fqdns.filter((fqdn) => fqdn.includes("*"));
  return createPolicy({
    name,
    description: `${workload.name} reaches ${fqdns.join(", ")}.`,
    namespace: workload.namespace,
    subject: { workload },
    egress: [
      {
        peers: [
          ...(exact.length > 0 ? [{ fqdns: exact }] : []),
          ...(patterns.length > 0 ? [{ fqdnPatterns: patterns }] : []),
        ],
        ports,
      },
    ],
  });
}
