import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

const kubeDns = { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" };
const dnsPorts = [
  {
    ports: [
      { port: "53", protocol: "UDP" },
      { port: "53", protocol: "TCP" },
    ],
  },
];
const apiServerPort = [{ ports: [{ port: "6443", protocol: "TCP" }] }];

function clusterwidePolicy(
  name: string,
  description: string,
  spec: Record<string, unknown>,
  provider: k8s.Provider,
  dependsOn: pulumi.Resource[],
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumClusterwideNetworkPolicy",
      metadata: { name, labels: { "app.kubernetes.io/managed-by": "pulumi" } },
      spec: { description, ...spec },
    },
    { provider, dependsOn },
  );
}

/**
 * The cluster-wide policies default-deny needs before any app: every pod resolves names through
 * kube-dns, CoreDNS reaches the API server and upstream DNS, the node reaches pods for probes,
 * and the k3s and Cilium system pods reach what they serve.
 */
export function createBaselinePolicies(
  provider: k8s.Provider,
  cilium: pulumi.Resource,
): k8s.apiextensions.CustomResource[] {
  const dependsOn = [cilium];
  return [
    clusterwidePolicy(
      "allow-dns-egress",
      "Every pod may query kube-dns on port 53 (UDP and TCP).",
      { endpointSelector: {}, egress: [{ toEndpoints: [{ matchLabels: kubeDns }], toPorts: dnsPorts }] },
      provider,
      dependsOn,
    ),
    clusterwidePolicy(
      "kube-dns",
      "kube-dns answers every pod and the node, and reaches the API server and upstream DNS.",
      {
        endpointSelector: { matchLabels: kubeDns },
        ingress: [{ fromEntities: ["cluster"], toPorts: dnsPorts }],
        egress: [
          { toEntities: ["kube-apiserver"], toPorts: apiServerPort },
          { toEntities: ["world", "host"], toPorts: dnsPorts },
        ],
      },
      provider,
      dependsOn,
    ),
    clusterwidePolicy(
      "allow-node-probes",
      "The node (kubelet) reaches every pod for liveness and readiness probes.",
      { endpointSelector: {}, ingress: [{ fromEntities: ["host"] }] },
      provider,
      dependsOn,
    ),
    clusterwidePolicy(
      "cilium-health",
      "Cilium's health endpoint talks to the node it checks.",
      {
        endpointSelector: { matchLabels: { "reserved:health": "" } },
        ingress: [{ fromEntities: ["host", "remote-node"] }],
        egress: [{ toEntities: ["host", "remote-node"] }],
      },
      provider,
      dependsOn,
    ),
    clusterwidePolicy(
      "k3s-system",
      "k3s's local-path provisioner and metrics server reach the API server; the metrics server reads the kubelet.",
      {
        endpointSelector: {
          matchExpressions: [
            { key: "k8s:io.kubernetes.pod.namespace", operator: "In", values: ["kube-system"] },
            { key: "k8s:app", operator: "In", values: ["local-path-provisioner"] },
          ],
        },
        egress: [{ toEntities: ["kube-apiserver"], toPorts: apiServerPort }],
      },
      provider,
      dependsOn,
    ),
    clusterwidePolicy(
      "metrics-server",
      "The metrics server is called by the API server and scrapes the kubelet.",
      {
        endpointSelector: {
          matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "metrics-server" },
        },
        ingress: [{ fromEntities: ["kube-apiserver", "host"] }],
        egress: [
          { toEntities: ["kube-apiserver"], toPorts: apiServerPort },
          { toEntities: ["host", "remote-node"], toPorts: [{ ports: [{ port: "10250", protocol: "TCP" }] }] },
        ],
      },
      provider,
      dependsOn,
    ),
    clusterwidePolicy(
      "hubble-relay",
      "Hubble relay collects flows from the agents' Hubble servers.",
      {
        endpointSelector: {
          matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "hubble-relay" },
        },
        ingress: [{ fromEntities: ["host"] }],
        egress: [
          { toEntities: ["host", "remote-node"], toPorts: [{ ports: [{ port: "4244", protocol: "TCP" }] }] },
        ],
      },
      provider,
      dependsOn,
    ),
  ];
}
