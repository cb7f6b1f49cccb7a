import * as k8s from "@pulumi/kubernetes";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
} from "./metadata";

export interface ServiceAccountArgs extends NamespacedObjectArgs {
  /**
   * Whether pods using this account get an API token mounted. Off by default: a pod only talks
   * to the API server when it needs to.
   */
  automountToken?: boolean;
}

/** Creates a ServiceAccount. */
export function createServiceAccount(args: ServiceAccountArgs): k8s.core.v1.ServiceAccount {
  return new k8s.core.v1.ServiceAccount(
    namespacedResourceName(args),
    { metadata: namespacedMetadata(args), automountServiceAccountToken: args.automountToken ?? false },
    namespacedOptions(args),
  );
}
