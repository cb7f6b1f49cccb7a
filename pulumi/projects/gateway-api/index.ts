import { crds } from "@infra/core";
import { installGatewayApiCrds } from "@infra/gateway";
import { getKubernetesProvider } from "@projects/common";

const installed = installGatewayApiCrds({ provider: getKubernetesProvider() });

/** The Gateway API release the cluster serves. */
export const gatewayApiVersion = crds.gatewayApi;
/** The installed CRDs, such as `gateways.gateway.networking.k8s.io`. */
export const crdNames = installed.map((crd) => crd.metadata.name);
