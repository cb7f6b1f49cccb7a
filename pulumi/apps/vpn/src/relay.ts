import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createPolicy } from "@infra/cilium";
import { images } from "@infra/core";
import {
  createConfigMap,
  createRole,
  createSecret,
  createServiceAccount,
  createWorkload,
  hostPath,
  secretKeyRef,
  type Workload,
} from "@infra/k8s";
import { createAuthKey, tailscaleEgressRules } from "@infra/tailscale";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as tailscale from "@pulumi/tailscale";
import { parseEndpoint, renderWireguardConfig, type VpnLocation } from "./wireguard-config";

/** The interface the Tailscale container creates; the relay marks packets arriving on it. */
export const tailscaleInterface = "tailscale0";

const upstreamScript = readFileSync(join(__dirname, "..", "scripts", "upstream.sh"), "utf8");

export interface VpnRelayArgs {
  /** The namespace the relays run in. */
  namespace: k8s.core.v1.Namespace;
  /** The provider's server for this exit location. */
  location: VpnLocation;
  /** The relay's WireGuard private key at the provider (a secret). */
  privateKey: pulumi.Input<string>;
  /** The Tailscale provider that creates the relay's auth key. */
  tailscaleProvider: tailscale.Provider;
  /** The tailnet tag of relays; the tailnet policy auto-approves it as an exit node. */
  tag: string;
  /**
   * Seconds the relay's auth key stays usable before its first start.
   * @default defaultAuthKeyExpirySeconds (one hour)
   */
  authKeyExpirySeconds?: number;
}

/** What one relay is made of. */
export interface VpnRelay {
  workload: Workload;
  /** The Secret holding the rendered `wg0.conf`. */
  wireguardConfig: k8s.core.v1.Secret;
  policy: k8s.apiextensions.CustomResource;
}

/**
 * One exit location: a pod whose Tailscale container joins the tailnet as exit node
 * `<location>` and whose upstream container brings up `wg0` to the VPN provider. Only traffic
 * arriving from the tailnet uses the tunnel (see wireguard-config.ts); the pod resolves names
 * with the provider's DNS server, through the tunnel, so exit-node clients' queries do not leak.
 */
export function createVpnRelay(args: VpnRelayArgs): VpnRelay {
  const { namespace, location } = args;
  const name = `relay-${location.name}`;
  const endpoint = parseEndpoint(location.endpoint);
  if (!endpoint)
    throw new Error(`VPN location "${location.name}": endpoint "${location.endpoint}" is not <IPv4>:<port>`);

  const wireguardConfig = createSecret({
    name: `${name}-wireguard`,
    namespace,
    stringData: {
      "wg0.conf": pulumi
        .output(args.privateKey)
        .apply((privateKey) => renderWireguardConfig(location, privateKey, { tailscaleInterface })),
    },
  });
  const script = createConfigMap({
    name: `${name}-upstream`,
    namespace,
    data: { "upstream.sh": upstreamScript },
  });

  const authKey = createAuthKey({
    name,
    description: `VPN relay ${location.name}`,
    tag: args.tag,
    ...(args.authKeyExpirySeconds === undefined ? {} : { expirySeconds: args.authKeyExpirySeconds }),
    provider: args.tailscaleProvider,
  });
  const auth = createSecret({
    name: `${name}-tailscale-auth`,
    namespace,
    stringData: { authkey: authKey.key },
  });

  // Tailscale keeps its node state in a Secret it creates and updates itself.
  const stateSecret = `${name}-tailscale-state`;
  const serviceAccount = createServiceAccount({ name, namespace, automountToken: true });
  createRole({
    name,
    namespace,
    serviceAccounts: [serviceAccount],
    rules: [
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      {
        apiGroups: [""],
        resources: ["secrets"],
        verbs: ["get", "update", "patch"],
        resourceNames: [stateSecret],
      },
      { apiGroups: [""], resources: ["events"], verbs: ["get", "create", "patch"] },
    ],
  });

  const tun = hostPath("dev-net-tun", "/dev/net/tun", "CharDevice");
  const workload = createWorkload({
    name,
    namespace,
    // Two pods of one relay would share one tailnet identity.
    updateStrategy: "Recreate",
    serviceAccount,
    dnsNameservers: [location.dns],
    podSecurity: {
      sysctls: {
        "net.ipv4.ip_forward": "1",
        "net.ipv4.conf.all.src_valid_mark": "1",
        "net.ipv4.conf.all.rp_filter": "2",
      },
    },
    container: {
      name: "tailscale",
      image: images.tailscale,
      env: {
        TS_AUTHKEY: secretKeyRef(auth, "authkey"),
        TS_KUBE_SECRET: stateSecret,
        TS_HOSTNAME: location.name,
        TS_USERSPACE: "false",
        TS_AUTH_ONCE: "true",
        TS_EXTRA_ARGS: `--advertise-exit-node --advertise-tags=${args.tag}`,
      },
      volumeMounts: [{ volume: tun, mountPath: "/dev/net/tun" }],
      securityContext: { capabilities: { add: ["NET_ADMIN"] } },
    },
    sidecars: [
      {
        name: "upstream",
        image: images.wireguard,
        command: ["/bin/bash", "/scripts/upstream.sh"],
        env: { WG_CONF: "/config/wg0.conf" },
        volumeMounts: [
          { volume: wireguardConfig, mountPath: "/config", defaultMode: 0o400 },
          { volume: script, mountPath: "/scripts" },
        ],
        securityContext: { capabilities: { add: ["NET_ADMIN"] } },
      },
    ],
  });

  const policy = createPolicy({
    name,
    description: `VPN relay ${location.name}: the provider's server, Tailscale's servers, relays and peers, the API server.`,
    namespace,
    subject: { workload },
    egress: [
      { peers: [{ cidrs: [`${endpoint.address}/32`] }], ports: [{ port: endpoint.port, protocol: "UDP" }] },
      ...tailscaleEgressRules,
      { peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: 6443 }] },
    ],
  });

  return { workload, wireguardConfig, policy };
}
