import { objectLabels } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface ClusterIssuersArgs {
  provider: k8s.Provider;
  /** The Secret (in cert-manager's namespace) holding the Cloudflare API token. */
  tokenSecret: k8s.core.v1.Secret;
  /** The key of the token in that Secret. */
  tokenKey: string;
  /** The ACME account e-mail and directory URL. */
  acme: pulumi.Output<{ email: string; server: string }>;
  /** The DNS zone the `public` issuer answers DNS-01 challenges in. */
  domain: pulumi.Input<string>;
  /** The cert-manager release: the issuers need its CRDs and webhook. */
  release: pulumi.Resource;
}

function clusterIssuer(
  name: string,
  spec: Record<string, unknown>,
  args: ClusterIssuersArgs,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: "cert-manager.io/v1",
      kind: "ClusterIssuer",
      metadata: { name, labels: objectLabels(name) },
      spec,
    },
    { provider: args.provider, dependsOn: [args.release] },
  );
}

/**
 * The cluster issuers every layer uses: `public` gets certificates from the ACME directory by
 * DNS-01 through Cloudflare (so private apps, unreachable from the internet, get them too);
 * `plain` signs them itself, for what only needs some certificate.
 */
export function createClusterIssuers(args: ClusterIssuersArgs): {
  public: k8s.apiextensions.CustomResource;
  plain: k8s.apiextensions.CustomResource;
} {
  return {
    public: clusterIssuer(
      "public",
      {
        acme: {
          email: args.acme.apply((acme) => acme.email),
          server: args.acme.apply((acme) => acme.server),
          // cert-manager creates the account key in this Secret on first use.
          privateKeySecretRef: { name: "public-acme-account" },
          solvers: [
            {
              selector: { dnsZones: [args.domain] },
              dns01: {
                cloudflare: {
                  apiTokenSecretRef: { name: args.tokenSecret.metadata.name, key: args.tokenKey },
                },
              },
            },
          ],
        },
      },
      args,
    ),
    plain: clusterIssuer("plain", { selfSigned: {} }, args),
  };
}
