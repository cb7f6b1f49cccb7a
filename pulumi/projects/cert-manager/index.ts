import { charts, readConfig } from "@infra/core";
import { createHelmRelease, createNamespace, createSecret } from "@infra/k8s";
import { getKubernetesProvider, getSharedEnvironment } from "@projects/common";
import { certManagerValues, releaseName } from "./chart";
import { recursiveNameservers } from "./config";
import { requireGatewayApi } from "./gateway-api";
import { createClusterIssuers } from "./issuers";
import { createCertManagerPolicies } from "./policies";
import { clusterCloudflareToken } from "./token";

const provider = getKubernetesProvider();
const { acme, domain } = getSharedEnvironment();
const nameservers = readConfig("recursiveNameservers", recursiveNameservers);

const certManagerNamespace = createNamespace({ name: "cert-manager", provider });

const release = createHelmRelease({
  name: releaseName,
  namespace: certManagerNamespace,
  chart: charts.certManager,
  // The release waits for the gateway-api layer: with Gateway support on, the controller needs its CRDs.
  values: requireGatewayApi().apply(() => certManagerValues(nameservers)),
});

createCertManagerPolicies({
  namespace: certManagerNamespace,
  acmeServer: acme.apply((settings) => settings.server),
  nameservers,
});

// Cluster issuers read their Secrets from cert-manager's own namespace: this cluster's own token.
const tokenKey = "api-token";
const tokenSecret = createSecret({
  name: "cloudflare-api-token",
  namespace: certManagerNamespace,
  stringData: { [tokenKey]: clusterCloudflareToken() },
});

const clusterIssuers = createClusterIssuers({ provider, tokenSecret, tokenKey, acme, domain, release });

export const namespace = certManagerNamespace.metadata.name;
/** The cluster issuers: `public` (ACME, trusted everywhere) and `plain` (self-signed). */
export const issuers = {
  public: clusterIssuers.public.metadata.name,
  plain: clusterIssuers.plain.metadata.name,
};
