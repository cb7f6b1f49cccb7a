import type * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";

/**
 * One hour, the default life of an auth key: the key is used once, when the pod first starts,
 * during the `pulumi up` that made it; after that the node keeps its identity in its state Secret.
 */
export const defaultAuthKeyExpirySeconds = 3600;
/** The longest an auth key may live: 90 days, Tailscale's maximum and the provider's default. */
export const maxAuthKeyExpirySeconds = 7_776_000;

export interface AuthKeyArgs {
  /** The resource's name. */
  name: string;
  /** What the key is for, shown in the admin console. */
  description: pulumi.Input<string>;
  /** The tag the device gets. */
  tag: string;
  /**
   * Seconds the key stays usable.
   * @default defaultAuthKeyExpirySeconds (one hour)
   */
  expirySeconds?: number;
  /** The Tailscale provider the key is made with. */
  provider: tailscale.Provider;
  /** What must exist first: the tailnet policy that defines the tag, on the stack that manages it. */
  dependsOn?: pulumi.Resource[];
}

/**
 * A single-use, pre-authorized auth key for one tagged device, which expires unused after
 * `expirySeconds`. Once used or expired it stays as it is (`recreateIfInvalid: never`, the
 * provider's behaviour for single-use keys made explicit): a new key on every `pulumi up` would
 * change the auth Secret for nothing. A device that must join again (its state Secret lost) needs
 * a new key: `pulumi up --replace <the key's URN>`.
 */
export function createAuthKey(args: AuthKeyArgs): tailscale.TailnetKey {
  return new tailscale.TailnetKey(
    args.name,
    {
      description: args.description,
      preauthorized: true,
      reusable: false,
      ephemeral: false,
      tags: [args.tag],
      expiry: args.expirySeconds ?? defaultAuthKeyExpirySeconds,
      recreateIfInvalid: "never",
    },
    { provider: args.provider, ...(args.dependsOn ? { dependsOn: args.dependsOn } : {}) },
  );
}
