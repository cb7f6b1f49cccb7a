import { classifyHosts, createPolicy, hostPeers } from "@infra/cilium";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NotifyTarget, StorageHosts } from "./config";
import { backupPodLabels } from "./jobs";

export interface StoragePolicyArgs {
  app: string;
  namespace: k8s.core.v1.Namespace;
  /** The storage hosts and ports (the stack's, as `shared` exports them). */
  storage: pulumi.Input<StorageHosts>;
  /** The notification target (`backup:notify`): its hosts, on 443. */
  notify?: pulumi.Input<NotifyTarget | undefined>;
}

/** The port the jobs reach the notification target's hosts on. */
export const notifyPort = 443;

/**
 * Lets an app's backup and restore jobs reach the storage hosts, on the storage ports, and the
 * notification target's hosts (if the stack has one) on 443, and nothing else (DNS is allowed to
 * every pod by the baseline).
 */
export function createStoragePolicy(args: StoragePolicyArgs): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: `${args.app}-backup-storage`,
    description: `The backup and restore jobs of ${args.app} reach the backup storage and the notification target only.`,
    namespace: args.namespace,
    subject: { labels: backupPodLabels(args.app) },
    egress: pulumi.all([args.storage, args.notify]).apply(([storage, notify]) => {
      const peers = hostPeers(storage);
      if (peers.length === 0) throw new Error(`The backups of ${args.app} have no storage host to reach`);
      const rules = [{ peers, ports: storage.ports.map((port) => ({ port })) }];
      if (notify && notify.hosts.length > 0) {
        rules.push({ peers: hostPeers(classifyHosts(notify.hosts)), ports: [{ port: notifyPort }] });
      }
      return rules;
    }),
  });
}
