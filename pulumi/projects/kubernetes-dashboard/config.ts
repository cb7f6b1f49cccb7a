import { domainName } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/** Whether the login account may do anything (cluster-admin); read-only by default. */
export const adminConfig = z.boolean({ error: "expected true or false" }).default(false);

/** The dashboard's DNS name; `dashboard.<server>.<domain>` when unset. */
export const hostnameConfig = domainName.optional();

/**
 * The dashboard's DNS name: the configured one, or `dashboard.<server>.<domain>`, distinct per
 * server so no two stacks manage one DNS record. A configured name outside the shared domain
 * fails: the `public` issuer only answers challenges in that zone.
 */
export function dashboardHostname(args: {
  configured: string | undefined;
  server: pulumi.Input<string>;
  domain: pulumi.Input<string>;
}): pulumi.Output<string> {
  const { configured } = args;
  if (configured === undefined) return pulumi.interpolate`dashboard.${args.server}.${args.domain}`;
  return pulumi.output(args.domain).apply((zone) => {
    if (!configured.endsWith(`.${zone}`)) {
      throw new Error(
        `Config "${pulumi.getProject()}:hostname" of stack "${pulumi.getStack()}" is ${configured}, ` +
          `which is not in the shared project's domain ${zone}`,
      );
    }
    return configured;
  });
}
