import { namespacedMetadata, namespacedOptions, namespacedResourceName } from "@infra/k8s";
import { requireStackOutput } from "@projects/common";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface WildcardCertificateArgs {
  /** The namespace it lives in alone (`privateTlsNamespace`). */
  namespace: k8s.core.v1.Namespace;
  privateDomain: pulumi.Input<string>;
  /** This server's name: its own private names are `<label>.<server>.<private domain>`. */
  server: pulumi.Input<string>;
}

const name = "private-wildcard";

/** The names the certificate covers: every site name and every name of this server in the private zone. */
export function wildcardNames(privateDomain: string, server: string): string[] {
  return [`*.${privateDomain}`, `*.${server}.${privateDomain}`];
}

/**
 * The certificate every private exposure of the server uses: `*.<private domain>` and
 * `*.<server>.<private domain>`, from the `public` issuer by DNS-01, so the public
 * Certificate Transparency logs list the two wildcards and never an app's name (only the
 * challenge's TXT record is published, for the few seconds of an issuance). `pulumi up` waits
 * until it is issued, so the apps deployed after it never serve without a certificate.
 */
export function createWildcardCertificate(args: WildcardCertificateArgs): {
  certificate: k8s.apiextensions.CustomResource;
  secretName: string;
} {
  const secretName = `${name}-tls`;
  const named = { name, namespace: args.namespace };
  const certificate = new k8s.apiextensions.CustomResource(
    namespacedResourceName(named),
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: namespacedMetadata({
        ...named,
        annotations: {
          // The Kubernetes provider waits for this condition (a DNS-01 issuance takes a minute or two).
          "pulumi.com/waitFor": "condition=Ready",
          "pulumi.com/timeoutSeconds": "900",
        },
      }),
      spec: {
        secretName,
        dnsNames: pulumi
          .all([args.privateDomain, args.server])
          .apply(([privateDomain, server]) => wildcardNames(privateDomain, server)),
        issuerRef: {
          group: "cert-manager.io",
          kind: "ClusterIssuer",
          name: requireStackOutput<{ public: string }>("cert-manager", "issuers").apply(
            (issuers) => issuers.public,
          ),
        },
      },
    },
    namespacedOptions(named),
  );
  return { certificate, secretName };
}
