import { createPolicy, hostPeers } from "@infra/cilium";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StorageHosts } from "./config";
import { backupPodLabels } from "./jobs";

export interface StoragePolicyArgs {
  app: string;
  namespace: k8s.core.v1.Namespace;
  /** The storage hosts and ports (the stack's, as `shared` exports them). */
  storage: pulumi.Input<StorageHosts>;
}

/**
 * Lets an app's backup and restore jobs reach the storage hosts, on the storage ports, and nothing
 * else (DNS is allowed to every pod by the baseline).
 */
export function createStoragePolicy(args: StoragePolicyArgs): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: `${args.app}-backup-storage`,
    description: `The backup and restore jobs of ${args.app} reach the backup storage only.`,
    namespace: args.namespace,
    subject: { labels: backupPodLabels(args.app) },
    egress: pulumi.output(args.storage).apply((storage) => {
      const peers = hostPeers(storage);
      if (peers.length === 0) throw new Error(`The backups of ${args.app} have no storage host to reach`);
      return [{ peers, ports: storage.ports.map((port) => ({ port })) }];
    }),
  });
}
