import { createPolicy, type Peer } from "@infra/cilium";
import type * as k8s from "@pulumi/kubernetes";
import type { StorageHosts } from "./config";
import { backupPodLabels } from "./jobs";

export interface StoragePolicyArgs {
  app: string;
  namespace: k8s.core.v1.Namespace;
  storage: StorageHosts;
}

/**
 * Lets an app's backup and restore jobs reach the storage hosts, on the storage ports, and nothing
 * else (DNS is allowed to every pod by the baseline).
 */
export function createStoragePolicy(args: StoragePolicyArgs): k8s.apiextensions.CustomResource {
  const { fqdns, fqdnPatterns, cidrs, ports } = args.storage;
  const peers: Peer[] = [
    ...(fqdns.length > 0 ? [{ fqdns }] : []),
    ...(fqdnPatterns.length > 0 ? [{ fqdnPatterns }] : []),
    ...(cidrs.length > 0 ? [{ cidrs }] : []),
  ];
  if (peers.length === 0) throw new Error(`The backups of ${args.app} have no storage host to reach`);
  return createPolicy({
    name: `${args.app}-backup-storage`,
    description: `The backup and restore jobs of ${args.app} reach the backup storage only.`,
    namespace: args.namespace,
    subject: { labels: backupPodLabels(args.app) },
    egress: [{ peers, ports: ports.map((port) => ({ port })) }],
  });
}
