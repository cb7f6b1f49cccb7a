import { ConfigError } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { getSharedEnvironment } from "./shared";

/**
 * Whose name it is. An app that can move between servers gets a name of the site
 * (`vault.<zone>`), which follows it; a tool of one server (its dashboard) a name of that server
 * (`dashboard.<server>.<zone>`), so no two stacks ever hold one name.
 */
export type HostnameScope = "site" | "server";

/**
 * Which zone the name is in: a private name (reached through the tailnet) is in the private
 * domain, served only by the tailnet's DNS and covered by the server's wildcard certificates;
 * a public name is in the domain, at Cloudflare.
 */
export type HostnameZone = "private" | "public";

export interface HostnameArgs {
  /** The name's first label: `vault`, `dashboard`. */
  label: string;
  scope: HostnameScope;
  /** The gateway that serves the name: it decides the zone. */
  gateway: HostnameZone;
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
 * The one hostname rule of the platform: `<label>.<zone>` for a site name,
 * `<label>.<server>.<zone>` for a server's, where the zone is the private domain for a private
 * name and the domain for a public one. A configured name must keep that shape: a private one is
 * one label under the private domain (a site's) or under `<server>.<private domain>` (a server's),
 * the names the server's wildcard certificates cover; a public one lies in the domain, outside the
 * private domain (the certificate issuer only answers DNS-01 challenges in the domain's zone, and
 * nothing private is ever published at Cloudflare).
 */
export function resolveHostname(args: HostnameArgs): pulumi.Output<string> {
  if (!labelPattern.test(args.label)) throw new Error(`Hostname label "${args.label}" is not a DNS label`);
  const key = args.configKey ?? "hostname";
  const { configured } = args;
  const { domain, privateDomain, server } = getSharedEnvironment();
  const zone = args.gateway === "private" ? privateDomain : domain;
  return pulumi.all([zone, domain, privateDomain, server]).apply(([parent, site, hidden, facts]) => {
    const base = args.scope === "site" ? parent : `${facts.name}.${parent}`;
    if (configured === undefined) return `${args.label}.${base}`;
    const fail = (problem: string, fix: string) => {
      throw new ConfigError(
        `Config "${pulumi.getProject()}:${key}" of stack "${pulumi.getStack()}" is ${configured}, which ${problem}: ${fix}.`,
      );
    };
    if (args.gateway === "private") {
      const label = configured.endsWith(`.${base}`) ? configured.slice(0, -base.length - 1) : undefined;
      if (label === undefined || !labelPattern.test(label)) {
        fail(
          `is not a private name of this ${args.scope === "site" ? "site" : "server"} (one label under ${base})`,
          `use a name such as ${args.label}.${base}, which the tailnet's DNS serves and the wildcard certificate covers`,
        );
      }
      return configured;
    }
    if (!configured.endsWith(`.${site}`)) {
      fail(`is not in the shared project's domain ${site}`, `use a name ending in .${site}`);
    }
    if (configured === hidden || configured.endsWith(`.${hidden}`)) {
      fail(
        `lies in the private domain ${hidden}, which is never published`,
        `use a public name outside it, such as ${args.label}.${site}`,
      );
    }
    return configured;
  });
}
