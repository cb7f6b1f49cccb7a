import { ConfigError } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { getSharedEnvironment } from "./shared";

/**
 * Whose name it is. An app that can move between servers gets a name of the site
 * (`vault.<domain>`), which follows it; a tool of one server (its dashboard) a name of that server
 * (`dashboard.<server>.<domain>`), so no two stacks ever manage one DNS record.
 */
export type HostnameScope = "site" | "server";

export interface HostnameArgs {
  /** The name's first label: `vault`, `dashboard`. */
  label: string;
  scope: HostnameScope;
  /** The name the project's config gives instead (validated as a DNS name by its schema). */
  configured?: string | undefined;
  /**
   * The config key `configured` comes from, for the error message.
   * @default "hostname"
   */
  configKey?: string;
}

const labelPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The one hostname rule of the platform: `<label>.<domain>` for a site name,
 * `<label>.<server>.<domain>` for a server's, unless the project's config names it (checked to lie
 * in the domain: the certificate issuer only answers DNS-01 challenges in that zone).
 */
export function resolveHostname(args: HostnameArgs): pulumi.Output<string> {
  if (!labelPattern.test(args.label)) throw new Error(`Hostname label "${args.label}" is not a DNS label`);
  const key = args.configKey ?? "hostname";
  const { configured } = args;
  const { domain, server } = getSharedEnvironment();
  if (configured === undefined) {
    return args.scope === "site"
      ? pulumi.interpolate`${args.label}.${domain}`
      : pulumi.interpolate`${args.label}.${server.apply((facts) => facts.name)}.${domain}`;
  }
  return domain.apply((zone) => {
    if (!configured.endsWith(`.${zone}`)) {
      throw new ConfigError(
        `Config "${pulumi.getProject()}:${key}" of stack "${pulumi.getStack()}" is ${configured}, which is ` +
          `not in the shared project's domain ${zone}: use a name ending in .${zone}.`,
      );
    }
    return configured;
  });
}
