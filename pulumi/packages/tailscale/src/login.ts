import type * as pulumi from "@pulumi/pulumi";
import type { HeadscaleEndpoint } from "./egress";

/**
 * How a node of a Headscale tailnet joins: the login server and a pre-auth key made there
 * (@infra/headscale's `HeadscalePreAuthKey`), instead of a key from Tailscale's API.
 */
export interface HeadscaleLogin {
  /** Headscale's URL (`tailnetControl.url`), tailscaled's `--login-server`. */
  loginServer: pulumi.Input<string>;
  /** The node's single-use pre-auth key, a Pulumi secret. */
  authKey: pulumi.Input<string>;
  /** Where Headscale answers, for the node's egress policy. */
  endpoint: HeadscaleEndpoint;
}

/**
 * The environment containerboot gives tailscaled on a Headscale tailnet: no log upload to
 * Tailscale's log service from the first start on (Headscale turns it off only once the node is
 * connected; its docs on logging name `TS_NO_LOGS_NO_SUPPORT`).
 */
export const headscaleNodeEnv = { TS_NO_LOGS_NO_SUPPORT: "true" } as const;
