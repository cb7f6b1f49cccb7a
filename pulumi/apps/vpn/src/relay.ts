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
import {
  createAuthKey,
  type HeadscaleLogin,
  headscaleEgressRules,
  headscaleNodeEnv,
  tailscaleEgressRules,
} from "@infra/tailscale";
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
  /** The Tailscale provider that creates the relay's auth key, on a tailnet of Tailscale's service. */
  tailscaleProvider?: tailscale.Provider;
  /** On a Headscale tailnet instead: its login server and the key made there for this relay. */
  headscale?: HeadscaleLogin;
  /** The tailnet tag of relays; the tailnet policy auto-approves it as an exit node. */
  tag: string;
  /**
   * Seconds the relay's Tailscale auth key stays usable before its first start.
   * @default defaultAuthKeyExpirySeconds (one hour)
   */
  authKeyExpirySeconds?: number;
}

/** What one relay is made of. */
export interface VpnRelay {
  workload: Workload;
  /** The Secret holding the rendered `wg0.conf`. */
  wireguardConfig: k8s.core.v1.Secret;
  /** The Secret tailscaled keeps the relay's node state in, the only one its account may change. */
  state: k8s.core.v1.Secret;
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

  const { headscale } = args;
  if ((args.tailscaleProvider === undefined) === (headscale === undefined)) {
    throw new Error(
      `VPN relay ${location.name}: give it either a Tailscale provider or a Headscale login, not both`,
    );
  }
  const authKey = args.tailscaleProvider
    ? createAuthKey({
        name,
        description: `VPN relay ${location.name}`,
        tag: args.tag,
        ...(args.authKeyExpirySeconds === undefined ? {} : { expirySeconds: args.authKeyExpirySeconds }),
        provider: args.tailscaleProvider,
      }).key
    : (headscale as HeadscaleLogin).authKey;
  const auth = createSecret({
    name: `${name}-tailscale-auth`,
    namespace,
    stringData: { authkey: authKey },
  });

  // Created empty so that the Role can name it: tailscaled fills it with the node state, and no
  // relay may create a Secret (it could otherwise make another relay's, before that relay does).
  const state = createSecret({ name: `${name}-tailscale-state`, namespace, stringData: {} });
  const serviceAccount = createServiceAccount({ name, namespace, automountToken: true });
  createRole({
    name,
    namespace,
    serviceAccounts: [serviceAccount],
    rules: [
      {
        apiGroups: [""],
        resources: ["secrets"],
        verbs: ["get", "update", "patch"],
        resourceNames: [`${name}-tailscale-state`],
      },
      // containerboot reports to the pod's events (tailscale's docs/k8s/role.yaml grants them).
      { apiGroups: [""], resources: ["events"], verbs: ["get", "create", "patch"] },
    ],
  });

  // NET_ADMIN and nothing else, in both containers: routes, rules, links and the firewall are all
  // set over netlink (Tailscale's through nftables, the upstream's through iptables-nft: see
  // wireguard-config.ts), and creating Tailscale's interface on /dev/net/tun needs it too. Both run
  // as root: Kubernetes sets no ambient capabilities, so a non-root process would lose an added one
  // as soon as it runs a program.
  const netAdminOnly = { capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] } };
  const tun = hostPath("dev-net-tun", "/dev/net/tun", "CharDevice");
  const workload = createWorkload({
    name,
    namespace,
    // Two pods of one relay would share one tailnet identity.
    updateStrategy: "Recreate",
    serviceAccount,
    dnsNameservers: [location.dns],
    podSecurity: {
      runAsNonRoot: false,
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
        TS_KUBE_SECRET: state.metadata.name,
        TS_HOSTNAME: location.name,
        TS_USERSPACE: "false",
        TS_AUTH_ONCE: "true",
        TS_EXTRA_ARGS: headscale
          ? pulumi.interpolate`--advertise-exit-node --advertise-tags=${args.tag} --login-server=${headscale.loginServer}`
          : `--advertise-exit-node --advertise-tags=${args.tag}`,
        ...(headscale ? headscaleNodeEnv : {}),
        // tailscaled's rules through nftables over netlink. Its default, iptables, runs the image's
        // iptables, which links to the legacy backend and needs CAP_NET_RAW too (tailscale/tailscale:
        // util/linuxfw chooses by TS_DEBUG_FIREWALL_MODE; Dockerfile.base links iptables-legacy).
        TS_DEBUG_FIREWALL_MODE: "nftables",
      },
      volumeMounts: [{ volume: tun, mountPath: "/dev/net/tun" }],
      securityContext: netAdminOnly,
      // No CPU limit: every exit-node client's traffic passes through tailscaled.
      resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
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
        securityContext: netAdminOnly,
        // It only brings wg0 up and sleeps: the kernel carries the tunnel's packets.
        resources: { requests: { cpu: "5m", memory: "16Mi" }, limits: { memory: "64Mi", cpu: "100m" } },
      },
    ],
  });

  const policy = createPolicy({
    name,
    description: headscale
      ? `VPN relay ${location.name}: the provider's server, Headscale, peers, the API server.`
      : `VPN relay ${location.name}: the provider's server, Tailscale's servers, relays and peers, the API server.`,
    namespace,
    subject: { workload },
    egress: [
      { peers: [{ cidrs: [`${endpoint.address}/32`] }], ports: [{ port: endpoint.port, protocol: "UDP" }] },
      ...(headscale ? headscaleEgressRules(headscale.endpoint) : tailscaleEgressRules),
      { peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: 6443 }] },
    ],
  });

  return { workload, wireguardConfig, state, policy };
}
