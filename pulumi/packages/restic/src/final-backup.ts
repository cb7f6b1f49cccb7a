import { readFileSync } from "node:fs";
import { join } from "node:path";
import { namespacedResourceName } from "@infra/k8s";
import * as command from "@pulumi/command";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { jobDeadlineSeconds } from "./jobs";
import { resticScriptsDir } from "./repository";

/** What the final-backup command's delete runs (on the operator's machine, with kubectl). */
export const finalBackupScript = readFileSync(join(resticScriptsDir, "final-backup.sh"), "utf8");

export interface FinalBackupArgs {
  app: string;
  namespace: k8s.core.v1.Namespace;
  /** The final-backup CronJob template (`createBackupJob({ final: true })`). */
  template: k8s.batch.v1.CronJob;
  /** The scheduled backup CronJob: a run of it in progress is waited for first. */
  scheduled: k8s.batch.v1.CronJob;
  /** The kube context of the server's cluster. */
  kubeContext: pulumi.Input<string>;
  /**
   * Everything the final backup needs while it runs (the volume, the secrets, the scripts, the
   * policy): Pulumi deletes them only after the final backup succeeded.
   */
  dependsOn: pulumi.Resource[];
}

/**
 * The final backup of an app, as a resource whose delete runs it: when the app is destroyed,
 * Pulumi deletes what depends on this resource first (the app's workload: the app stops), then
 * runs final-backup.sh, which starts a job from the final-backup template and waits for it, and
 * only then deletes what this resource depends on (the volume). A failed backup fails the destroy.
 * It does nothing when created or updated.
 */
export function createFinalBackup(args: FinalBackupArgs): command.local.Command {
  return new command.local.Command(
    namespacedResourceName({ name: `${args.app}-final-backup`, namespace: args.namespace }),
    {
      interpreter: ["/bin/bash", "-c"],
      delete: finalBackupScript,
      environment: {
        KUBE_CONTEXT: args.kubeContext,
        NAMESPACE: args.namespace.metadata.name,
        CRONJOB: args.template.metadata.name,
        SCHEDULED_CRONJOB: args.scheduled.metadata.name,
        APP: args.app,
        // The job's own deadline, and a little for it to be scheduled and report.
        TIMEOUT_SECONDS: String(jobDeadlineSeconds + 600),
      },
    },
    {
      parent: args.namespace,
      dependsOn: [args.template, args.scheduled, ...args.dependsOn],
    },
  );
}
