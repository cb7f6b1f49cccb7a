import type { ClusterNetwork, ServerFacts } from "@projects/common";

/** The paths k3s's containerd reads CNI binaries and configs from. */
const k3sCni = {
  binPath: "/var/lib/rancher/k3s/data/current/bin",
  confPath: "/var/lib/rancher/k3s/agent/etc/cni/net.d",
};

/** Cilium chart values for a single-node k3s server (flannel and network policy disabled). */
export function ciliumValues(server: ServerFacts, network: ClusterNetwork): Record<string, unknown> {
  return {
    // The agent must reach the API server before any service routing exists.
    k8sServiceHost: server.internalIp,
    k8sServicePort: 6443,
    // Cilium replaces kube-proxy and k3s's ServiceLB (both off on our servers): it serves the
    // public gateway's LoadBalancer Service on the node's own address, keeping the client's
    // source address, so the Cloudflare-only policy applies to the Traefik pods themselves
    // with no forwarding pod in between.
    kubeProxyReplacement: true,
    nodeIPAM: { enabled: true },
    defaultLBServiceIPAM: "nodeipam",
    cni: k3sCni,
    ipam: {
      mode: "cluster-pool",
      operator: { clusterPoolIPv4PodCIDRList: [network.clusterCidr], clusterPoolIPv4MaskSize: 24 },
    },
    // Default deny: nothing talks unless a policy allows it.
    policyEnforcementMode: "always",
    operator: { replicas: 1 },
    hubble: { enabled: true, relay: { enabled: true }, ui: { enabled: false } },
  };
}
