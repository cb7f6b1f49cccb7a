import type { TailnetControl } from "@infra/core";
import { selectorLabels } from "@infra/k8s";
import type { HeadscaleLogin } from "@infra/tailscale";
import * as pulumi from "@pulumi/pulumi";
import { HeadscalePreAuthKey } from "./preauth-key";

/** Headscale's namespace and workload name (the `headscale` project's): its clients' policies select its pods by them. */
export const headscaleApp = "headscale";

/** A Headscale site's tailnet control server. */
export type HeadscaleControl = Extract<TailnetControl, { kind: "headscale" }>;

/** The site's tailnet control server, as the `shared` project's stack exports it (`tailnetControl`). */
export async function readTailnetControl(shared: pulumi.StackReference): Promise<TailnetControl> {
  const details = await shared.getOutputDetails("tailnetControl");
  return (details.value ?? details.secretValue) as TailnetControl;
}

/**
 * Headscale's API key, as the `shared` project exports it (`headscaleApiKey`, a secret), or nothing
 * before the operator made one (README.md, "Bootstrap"): a project leaves its tailnet devices out
 * until then.
 */
export async function readHeadscaleApiKey(
  shared: pulumi.StackReference,
): Promise<pulumi.Output<string> | undefined> {
  const details = await shared.getOutputDetails("headscaleApiKey");
  const key = details.secretValue ?? details.value;
  return typeof key === "string" ? pulumi.secret(key) : undefined;
}

export interface HeadscaleLoginArgs {
  /** The key's resource name (the device's). */
  name: string;
  /** `tailnetControl` of the `shared` project, on a Headscale site. */
  control: HeadscaleControl;
  /** Headscale's API key (a secret): see README.md, "The API key". */
  apiKey: pulumi.Input<string>;
  /** The device's tag. */
  tag: string;
  /** Seconds its key stays usable before the device first logs in. */
  expirySeconds: number;
}

/** A device's login to the site's Headscale: a single-use pre-auth key made there for its tag. */
export function createHeadscaleLogin(args: HeadscaleLoginArgs): HeadscaleLogin {
  const key = new HeadscalePreAuthKey(args.name, {
    serverUrl: args.control.url,
    apiKey: args.apiKey,
    tag: args.tag,
    expirySeconds: args.expirySeconds,
  });
  return {
    loginServer: args.control.url,
    authKey: key.key,
    endpoint: { port: args.control.port, namespace: headscaleApp, podLabels: selectorLabels(headscaleApp) },
  };
}
