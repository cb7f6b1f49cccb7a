import * as k8s from "@pulumi/kubernetes";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
} from "./metadata";

export interface PersistentVolumeClaimArgs extends NamespacedObjectArgs {
  /** Requested size, for example `"10Gi"`. */
  size: string;
  /** Access mode; single-node clusters use `ReadWriteOnce` (the default). */
  accessMode?: "ReadWriteOnce" | "ReadWriteOncePod" | "ReadOnlyMany" | "ReadWriteMany";
  /** Storage class; the cluster's default (k3s: `local-path`) when omitted. */
  storageClassName?: string;
}

/** Creates a PersistentVolumeClaim. */
export function createPersistentVolumeClaim(
  args: PersistentVolumeClaimArgs,
): k8s.core.v1.PersistentVolumeClaim {
  return new k8s.core.v1.PersistentVolumeClaim(
    namespacedResourceName(args),
    {
      metadata: namespacedMetadata(args),
      spec: {
        accessModes: [args.accessMode ?? "ReadWriteOnce"],
        resources: { requests: { storage: args.size } },
        ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
      },
    },
    namespacedOptions(args),
  );
}
