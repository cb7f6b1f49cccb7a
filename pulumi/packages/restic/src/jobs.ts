import { createCronJob, createJob, type NamespacedObjectArgs, type VolumeMountArgs } from "@infra/k8s";
import { type RunAs, type ScriptBundle, scriptPod, scriptsDir } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Retention } from "./config";

/** The label every pod of an app's backup and restore jobs carries (their policies select it). */
export const backupAppLabel = "backup.infra/app";

/** Labels of the pods of an app's backup and restore jobs. */
export function backupPodLabels(app: string): Record<string, string> {
  return { [backupAppLabel]: app };
}

/** How long a backup or restore may run before Kubernetes stops it. */
export const jobDeadlineSeconds = 6 * 60 * 60;

// The scripts get SIGTERM first: a private database server has time to shut down cleanly.
const terminationGracePeriodSeconds = 120;

interface AppJobArgs extends Pick<NamespacedObjectArgs, "namespace" | "options"> {
  /** The app (its repository's name and restic's host and tag; letters, digits, ".", "_", "-"). */
  app: string;
  /** A bundle holding the restic environment and the app's (see `createJobPair`). */
  bundle: ScriptBundle;
  /** Mounts of this job only (the app's volume, read-only for backups). */
  mounts?: VolumeMountArgs[];
  /** Who the job runs as: the owner of the data's files (see `JobPairArgs.runAs`). */
  runAs: RunAs;
}

export interface BackupJobArgs extends AppJobArgs {
  /** When it runs (a CronJob schedule, UTC). */
  schedule: pulumi.Input<string>;
  /** Snapshots kept; the scripts' defaults (7 daily, 4 weekly, 6 monthly) when omitted. */
  retention?: pulumi.Input<Retention>;
  /**
   * The storage credentials cannot delete history (BACKUP_APPEND_ONLY): the job never forgets or
   * prunes, and the operator's `task backup:prune` keeps the retention.
   * @default false
   */
  appendOnly?: pulumi.Input<boolean>;
  /** Paths under the backup directory left out of the snapshots (BACKUP_EXCLUDE). */
  exclude?: string[];
  /** A file of the bundle run before the snapshot (BACKUP_HOOK), e.g. a database dump. */
  backupHook?: string;
  /**
   * The final backup's template instead: a CronJob that never runs on its own (suspended), with
   * BACKUP_REASON=final; the final-backup command starts a job from it when the app is destroyed.
   */
  final?: boolean;
  /**
   * The scheduled backup does not run (suspended): the app is stopped for its migration, and its
   * final backup must be the newest snapshot, which the target restores.
   * @default false
   */
  suspended?: boolean;
  /**
   * How much of the data a final backup reads back (BACKUP_FINAL_READ_DATA_SUBSET: a restic
   * subset, empty for the structure only).
   * @default "100%" (the script's)
   */
  finalReadDataSubset?: string;
}

// createCronJob has no `suspend`: suspended CronJobs set it on their way to the engine.
const suspend: pulumi.ResourceTransformation = (args) => ({
  props: { ...args.props, spec: { ...args.props.spec, suspend: true } },
  opts: args.opts,
});

/** The name of an app's scheduled backup CronJob, or of its final-backup template. */
export function backupJobName(app: string, final = false): string {
  return final ? `${app}-final-backup` : `${app}-backup`;
}

/** Creates the CronJob that backs an app up with backup.sh (or its final-backup template). */
export function createBackupJob(args: BackupJobArgs): k8s.batch.v1.CronJob {
  const retention = args.retention === undefined ? undefined : pulumi.output(args.retention);
  const env: Record<string, pulumi.Input<string>> = {
    ...(args.final ? { BACKUP_REASON: "final" } : {}),
    ...(args.final && args.finalReadDataSubset !== undefined
      ? { BACKUP_FINAL_READ_DATA_SUBSET: args.finalReadDataSubset }
      : {}),
    ...(retention
      ? {
          BACKUP_KEEP_DAILY: retention.apply((keep) => String(keep.daily)),
          BACKUP_KEEP_WEEKLY: retention.apply((keep) => String(keep.weekly)),
          BACKUP_KEEP_MONTHLY: retention.apply((keep) => String(keep.monthly)),
        }
      : {}),
    ...(args.appendOnly === undefined
      ? {}
      : { BACKUP_APPEND_ONLY: pulumi.output(args.appendOnly).apply((appendOnly) => String(appendOnly)) }),
    ...(args.backupHook ? { BACKUP_HOOK: `${scriptsDir}/${args.backupHook}` } : {}),
    ...(args.exclude && args.exclude.length > 0 ? { BACKUP_EXCLUDE: args.exclude.join("\n") } : {}),
  };
  const options =
    args.final || args.suspended
      ? { ...args.options, transformations: [...(args.options?.transformations ?? []), suspend] }
      : args.options;
  return createCronJob({
    name: backupJobName(args.app, args.final),
    namespace: args.namespace,
    schedule: args.schedule,
    // A missed run (the node was down) still starts within the hour.
    startingDeadlineSeconds: 3600,
    backoffLimit: 1,
    activeDeadlineSeconds: jobDeadlineSeconds,
    terminationGracePeriodSeconds,
    podLabels: backupPodLabels(args.app),
    ...scriptPod(args.bundle, {
      script: "backup.sh",
      env,
      ...(args.mounts ? { mounts: args.mounts } : {}),
      runAs: args.runAs,
    }),
    ...(options ? { options } : {}),
  });
}

export interface RestoreJobArgs extends AppJobArgs {
  /** A file of the bundle that says whether the data is there (RESTORE_PRESENT_HOOK), e.g. for a database. */
  presentHook?: string;
  /** A file of the bundle run after the files are restored (RESTORE_HOOK), e.g. loading a dump. */
  restoreHook?: string;
  /** Exactly this snapshot rather than the newest (RESTORE_SNAPSHOT): a migration's final snapshot. */
  snapshot?: string;
  /** Take the app even from another server that holds it (RESTORE_FORCE_HOLD; see scripts/README.md). */
  forceHold?: boolean;
}

/**
 * Creates the Job that restores an app's newest snapshot with restore.sh before the app starts
 * (data present: skip; no repository or snapshot: fresh start; any error: the Job fails, and
 * whatever depends on it is never created). Pulumi waits for it. It runs once, when the app is
 * deployed on a cluster: later changes to its spec are ignored, since running it again next to the
 * running app could only skip (or, for a private database server, collide with the app's).
 */
export function createRestoreJob(args: RestoreJobArgs): k8s.batch.v1.Job {
  const env: Record<string, string> = {
    ...(args.presentHook ? { RESTORE_PRESENT_HOOK: `${scriptsDir}/${args.presentHook}` } : {}),
    ...(args.restoreHook ? { RESTORE_HOOK: `${scriptsDir}/${args.restoreHook}` } : {}),
    ...(args.snapshot ? { RESTORE_SNAPSHOT: args.snapshot } : {}),
    ...(args.forceHold ? { RESTORE_FORCE_HOLD: "true" } : {}),
  };
  return createJob({
    name: `${args.app}-restore`,
    namespace: args.namespace,
    backoffLimit: 1,
    activeDeadlineSeconds: jobDeadlineSeconds,
    terminationGracePeriodSeconds,
    podLabels: backupPodLabels(args.app),
    ...scriptPod(args.bundle, {
      script: "restore.sh",
      env,
      ...(args.mounts ? { mounts: args.mounts } : {}),
      runAs: args.runAs,
    }),
    options: {
      ...args.options,
      ignoreChanges: [...(args.options?.ignoreChanges ?? []), "spec"],
      // Pulumi waits for the Job: as long as the restore may take.
      customTimeouts: { create: `${jobDeadlineSeconds / 60 + 10}m` },
    },
  });
}
