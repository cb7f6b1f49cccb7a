import { apiServerPort, createPolicy, type PolicySubject, type PortRule, type Rule } from "@infra/cilium";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

const kubeSystem = "kube-system";
const kubeDns = { endpoints: { "k8s:k8s-app": "kube-dns" }, namespace: kubeSystem };
const dnsPorts: PortRule[] = [
  { port: 53, protocol: "UDP" },
  { port: 53, protocol: "TCP" },
];
const apiServer: Rule = { peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: apiServerPort }] };

/** The k3s and Cilium system pods of kube-system with this Cilium label. */
function systemPods(label: string, value: string): PolicySubject {
  return { labels: { "k8s:io.kubernetes.pod.namespace": kubeSystem, [label]: value } };
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
  const options = { dependsOn: [cilium] };
  return [
    createPolicy({
      name: "allow-dns-egress",
      description: "Every pod may query kube-dns on port 53 (UDP and TCP).",
      provider,
      options,
      subject: "all",
      egress: [{ peers: [kubeDns], ports: dnsPorts }],
    }),
    createPolicy({
      name: "kube-dns",
      description: "kube-dns answers every pod and the node, and reaches the API server and upstream DNS.",
      provider,
      options,
      subject: systemPods("k8s:k8s-app", "kube-dns"),
      ingress: [{ peers: [{ entities: ["cluster"] }], ports: dnsPorts }],
      egress: [apiServer, { peers: [{ entities: ["world", "host"] }], ports: dnsPorts }],
    }),
    createPolicy({
      name: "allow-node-probes",
      description: "The node (kubelet) reaches every pod for liveness and readiness probes.",
      provider,
      options,
      subject: "all",
      ingress: [{ peers: [{ entities: ["host"] }] }],
    }),
    createPolicy({
      name: "cilium-health",
      description: "Cilium's health endpoint talks to the node it checks.",
      provider,
      options,
      // The health endpoint is no pod: Cilium gives it the reserved label `health`.
      subject: { labels: { "reserved:health": "" } },
      ingress: [{ peers: [{ entities: ["host", "remote-node"] }] }],
      egress: [{ peers: [{ entities: ["host", "remote-node"] }] }],
    }),
    createPolicy({
      name: "k3s-system",
      description: "k3s's local-path provisioner reaches the API server.",
      provider,
      options,
      subject: systemPods("k8s:app", "local-path-provisioner"),
      egress: [apiServer],
    }),
    createPolicy({
      name: "metrics-server",
      description: "The metrics server is called by the API server and scrapes the kubelet.",
      provider,
      options,
      subject: systemPods("k8s:k8s-app", "metrics-server"),
      ingress: [{ peers: [{ entities: ["kube-apiserver", "host"] }] }],
      egress: [apiServer, { peers: [{ entities: ["host", "remote-node"] }], ports: [{ port: 10250 }] }],
    }),
    createPolicy({
      name: "hubble-relay",
      description: "Hubble relay collects flows from the agents' Hubble servers.",
      provider,
      options,
      subject: systemPods("k8s:k8s-app", "hubble-relay"),
      ingress: [{ peers: [{ entities: ["host"] }] }],
      egress: [{ peers: [{ entities: ["host", "remote-node"] }], ports: [{ port: 4244 }] }],
    }),
  ];
}
