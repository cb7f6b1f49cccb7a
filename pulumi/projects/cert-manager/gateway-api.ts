import { requireStackOutput } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";

/** The CRDs cert-manager's Gateway support watches: its controller does not start without them. */
const watchedCrds = ["gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"];

/**
 * The Gateway API release of this server, from the gateway-api layer. Reading it makes that layer
 * deploy first, and fails here, naming what is missing, when it does not install what cert-manager
 * watches.
 */
export function requireGatewayApi(): pulumi.Output<string> {
  return pulumi
    .all([
      requireStackOutput<string[]>("gateway-api", "crdNames"),
      requireStackOutput<string>("gateway-api", "gatewayApiVersion"),
    ])
    .apply(([crdNames, version]) => {
      const missing = watchedCrds.filter((name) => !crdNames.includes(name));
      if (missing.length > 0) {
        throw new Error(
          `Stack "${pulumi.getStack()}": the gateway-api layer does not install ${missing.join(", ")}, ` +
            "which cert-manager's Gateway support needs",
        );
      }
      return version;
    });
}
