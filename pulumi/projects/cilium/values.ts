import type { ResourcesArgs } from "@infra/k8s";
import type { ClusterNetwork, ServerFacts } from "@projects/common";

/** The paths k3s's containerd reads CNI binaries and configs from. */
const k3sCni = {
  binPath: "/var/lib/rancher/k3s/data/current/bin",
  confPath: "/var/lib/rancher/k3s/agent/etc/cni/net.d",
};

/**
 * The compute resources of every container the chart renders on our servers, by the value that sets
 * them (chart 1.19.4, values.schema.json; the chart sets none by default but install-cni's request).
 * Memory is capped everywhere; CPU nowhere: these are the node's network, on every pod's start path,
 * and a throttled agent would delay every policy and endpoint. The agent's ceiling leaves it room for
 * its BPF map and policy caches while stopping a leak before it takes the node.
 */
export const ciliumResources = {
  /** The agent (`cilium-agent` of the DaemonSet). */
  agent: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
  /** The agent's init containers (config, apply-sysctl-overwrites, mount-bpf-fs, clean-cilium-state). */
  agentInit: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
  /** mount-cgroup, the init container that mounts the cgroup2 filesystem on the host. */
  mountCgroup: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
  /** install-cni-binaries, which copies the CNI plugin onto the host. */
  installCni: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "128Mi" } },
  /** The operator (one replica). */
  operator: { requests: { cpu: "25m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  /** The Envoy DaemonSet that serves L7 policy and the agent's proxy. */
  envoy: { requests: { cpu: "25m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  /** Hubble Relay. */
  hubbleRelay: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
} as const satisfies Record<string, ResourcesArgs>;

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
    ipam: {
      mode: "cluster-pool",
      operator: { clusterPoolIPv4PodCIDRList: [network.clusterCidr], clusterPoolIPv4MaskSize: 24 },
    },
    // Default deny: nothing talks unless a policy allows it.
    policyEnforcementMode: "always",
    operator: { replicas: 1, resources: ciliumResources.operator },
    hubble: {
      enabled: true,
      relay: { enabled: true, resources: ciliumResources.hubbleRelay },
      ui: { enabled: false },
    },
    resources: ciliumResources.agent,
    initResources: ciliumResources.agentInit,
    cgroup: { autoMount: { resources: ciliumResources.mountCgroup } },
    cni: { ...k3sCni, resources: ciliumResources.installCni },
    envoy: { resources: ciliumResources.envoy },
  };
}
