import { ConfigError, readSecretConfig } from "@infra/core";
import { requireStackOutput } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";

/**
 * The Cloudflare API token this cluster's cert-manager answers DNS-01 challenges with
 * (`cert-manager:cloudflareApiToken`, a secret): one per cluster, limited to what cert-manager
 * needs (README.md, Cloudflare tokens), so one cluster's leak is revoked alone. The operator's
 * token (`shared:cloudflareApiToken`) is refused: it manages the zone's records and settings from
 * the operator's machine and must never sit in a cluster. Only that equality can be detected
 * offline; a distinct token with wider permissions cannot (Cloudflare tells a token's permissions
 * only to a token allowed to read tokens).
 */
export function clusterCloudflareToken(): pulumi.Output<string> {
  const token = readSecretConfig("cloudflareApiToken");
  const operators = requireStackOutput<string>("shared", "cloudflareApiToken");
  return pulumi.all([token, operators]).apply(([own, operator]) => {
    if (own === operator) {
      throw new ConfigError(
        `Stack "${pulumi.getStack()}": cert-manager:cloudflareApiToken is the operator's token ` +
          "(shared:cloudflareApiToken), which would give this cluster the whole zone's records and settings. " +
          "Create a token for this cluster's cert-manager only (Zone → DNS → Edit and Zone → Zone → Read on " +
          "the zone; pulumi/projects/cert-manager/README.md) and set it with: pulumi config set --secret " +
          `cloudflareApiToken <token> --stack ${pulumi.getStack()}`,
      );
    }
    return own;
  });
}
