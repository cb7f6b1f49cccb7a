import { allowToApiServer, createPolicy, type Rule } from "@infra/cilium";
import { images } from "@infra/core";
import {
  createRole,
  createSecret,
  createServiceAccount,
  createWorkload,
  secretKeyRef,
  type Workload,
} from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as tailscale from "@pulumi/tailscale";
import { createAuthKey } from "./auth-key";
import { headscaleEgressRules, tailscaleEgressRules } from "./egress";
import { type HeadscaleLogin, headscaleNodeEnv } from "./login";

export interface SubnetRouterArgs {
  /** The workload's name; `tailscale-router` by default. */
  name?: string;
  namespace: k8s.core.v1.Namespace;
  /** The device's name in the tailnet. */
  hostname: pulumi.Input<string>;
  /** The address ranges the router advertises (auto-approved for its tag by the tailnet policy). */
  routes: pulumi.Input<pulumi.Input<string>[]>;
  /** The tag the device gets; the tailnet policy owns it and auto-approves it for `routes` only. */
  tag: string;
  /** The Tailscale provider the auth key is made with, on a tailnet of Tailscale's service. */
  tailscaleProvider?: tailscale.Provider;
  /** On a Headscale tailnet instead: its login server and the key made there. */
  headscale?: HeadscaleLogin;
  /**
   * Seconds the Tailscale auth key stays usable (a Headscale key has its own expiry).
   * @default defaultAuthKeyExpirySeconds (one hour)
   */
  authKeyExpirySeconds?: number;
  /** What the auth key waits for: the tailnet policy that defines the tag, when this stack manages it. */
  authKeyDependsOn?: pulumi.Resource[];
  /** What the routed traffic may reach inside the cluster. */
  destinations: Rule[];
}

/** A running subnet router and its pieces. */
export interface SubnetRouter {
  workload: Workload;
  /** The auth key made at Tailscale; none on a Headscale tailnet. */
  authKey?: tailscale.TailnetKey;
  /** The Secret tailscaled keeps its node state in. */
  state: k8s.core.v1.Secret;
  policies: k8s.apiextensions.CustomResource[];
}

/**
 * Runs a Tailscale subnet router: one pod that joins the tailnet with a single-use, pre-authorized,
 * tagged auth key that expires unused, and advertises `routes`. It runs in userspace mode, so it
 * needs no capabilities: tailscaled itself opens the connections into the cluster, from the pod's
 * own address, and the policy says which destinations it may reach. Node state lives in a Secret,
 * so a restarted pod keeps its identity and never needs the (by then used) key again.
 */
export function createSubnetRouter(args: SubnetRouterArgs): SubnetRouter {
  const name = args.name ?? "tailscale-router";
  const { namespace, headscale } = args;
  if ((args.tailscaleProvider === undefined) === (headscale === undefined)) {
    throw new Error(
      `Subnet router ${name}: give it either a Tailscale provider or a Headscale login, not both`,
    );
  }
  const authKey = args.tailscaleProvider
    ? createAuthKey({
        name,
        description: pulumi.interpolate`Subnet router ${args.hostname}`,
        tag: args.tag,
        ...(args.authKeyExpirySeconds === undefined ? {} : { expirySeconds: args.authKeyExpirySeconds }),
        ...(args.authKeyDependsOn ? { dependsOn: args.authKeyDependsOn } : {}),
        provider: args.tailscaleProvider,
      })
    : undefined;
  const auth = createSecret({
    name: `${name}-auth`,
    namespace,
    stringData: { authkey: authKey ? authKey.key : (headscale as HeadscaleLogin).authKey },
  });
  // Created empty so the Role can be limited to this one Secret; tailscaled fills it.
  const state = createSecret({ name: `${name}-state`, namespace, stringData: {} });
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
        resourceNames: [`${name}-state`],
      },
    ],
  });
  const workload = createWorkload({
    name,
    namespace,
    // Two pods would share one tailnet identity.
    updateStrategy: "Recreate",
    serviceAccount,
    podSecurity: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true },
    container: {
      name: "tailscale",
      image: images.tailscale,
      env: {
        TS_AUTHKEY: secretKeyRef(auth, "authkey"),
        TS_KUBE_SECRET: state.metadata.name,
        TS_HOSTNAME: args.hostname,
        TS_USERSPACE: "true",
        TS_AUTH_ONCE: "true",
        TS_ROUTES: pulumi.output(args.routes).apply((routes) => routes.join(",")),
        TS_EXTRA_ARGS: headscale
          ? pulumi.interpolate`--advertise-tags=${args.tag} --login-server=${headscale.loginServer}`
          : `--advertise-tags=${args.tag}`,
        ...(headscale ? headscaleNodeEnv : {}),
      },
      securityContext: { capabilities: { drop: ["ALL"] } },
      // No CPU limit: userspace networking carries every tailnet connection into the cluster in
      // this process, and throttling it would slow them all.
      resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    },
  });
  const policies = [
    createPolicy({
      name: `${name}-tailscale`,
      description: headscale
        ? `${name} reaches Headscale (control and relay) and its peers.`
        : `${name} reaches Tailscale's servers and relays on the public internet, and its peers.`,
      namespace,
      subject: { workload },
      egress: headscale ? headscaleEgressRules(headscale.endpoint) : tailscaleEgressRules,
    }),
    createPolicy({
      name: `${name}-routes`,
      description: `${name} forwards tailnet traffic to what its routes lead to.`,
      namespace,
      subject: { workload },
      egress: args.destinations,
    }),
    // Its node state Secret.
    allowToApiServer(workload),
  ];
  return { workload, authKey, state, policies };
}
