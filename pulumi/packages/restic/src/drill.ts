import { createCronJob, type NamespacedObjectArgs } from "@infra/k8s";
import {
  type RunAs,
  type ScriptBundle,
  type ScriptEnvironment,
  scriptPod,
  scriptsDir,
} from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { backupPodLabels, jobDeadlineSeconds } from "./jobs";

/**
 * How a restore drill loads a database dump into a throwaway server of its engine, inside the
 * drill's pod on a scratch data directory (`BackupHooks.drill`).
 */
export interface DrillHooks {
  /**
   * Everything the drill's database part needs, in place of the hooks' own environment (which
   * reaches the app's real server): the engine's image and scripts (the hooks' restore and present
   * scripts among them), the throwaway server's settings and its scratch mounts.
   */
  environment: ScriptEnvironment;
  /** Files of `environment`: start and stop the throwaway server (DRILL_SERVER_START/STOP). */
  start: string;
  stop: string;
  /** A file of `environment` run before the dump is loaded (DRILL_PREPARE_HOOK): creates the app's database. */
  prepare?: string;
  /** Where drill.sh writes the throwaway server's new admin password (DRILL_DATABASE_PASSWORD_FILE). */
  passwordFile: string;
}

export interface DrillJobArgs extends Pick<NamespacedObjectArgs, "namespace" | "options"> {
  app: string;
  /** The bundle: the restic environment, the app's (BACKUP_DIR is its scratch emptyDir) and the drill hooks'. */
  bundle: ScriptBundle;
  /** When it runs (a CronJob schedule, UTC). */
  schedule: pulumi.Input<string>;
  /** The database part: the throwaway server, and the hooks' restore and present files. */
  database?: { hooks: DrillHooks; restore: string; present: string };
  runAs: RunAs;
}

/** The name of an app's restore-drill CronJob (`task backup:drill` starts a job from it). */
export function drillJobName(app: string): string {
  return `${app}-drill`;
}

/**
 * Creates the CronJob that drills an app's restore with drill.sh: its latest snapshot restored into
 * the pod's scratch emptyDir (never a volume of the app: the job mounts none), checked against the
 * snapshot's file count and size, and a database dump loaded into a throwaway server and queried.
 * Its pods carry the backup jobs' label: the storage policy lets them reach the storage only.
 */
export function createDrillJob(args: DrillJobArgs): k8s.batch.v1.CronJob {
  const database = args.database;
  const env: Record<string, string> = database
    ? {
        DRILL_SERVER_START: `${scriptsDir}/${database.hooks.start}`,
        DRILL_SERVER_STOP: `${scriptsDir}/${database.hooks.stop}`,
        ...(database.hooks.prepare ? { DRILL_PREPARE_HOOK: `${scriptsDir}/${database.hooks.prepare}` } : {}),
        DRILL_DATABASE_PASSWORD_FILE: database.hooks.passwordFile,
        RESTORE_HOOK: `${scriptsDir}/${database.restore}`,
        RESTORE_PRESENT_HOOK: `${scriptsDir}/${database.present}`,
      }
    : {};
  return createCronJob({
    name: drillJobName(args.app),
    namespace: args.namespace,
    schedule: args.schedule,
    // A drill missed while the node was down runs within the hour, or waits for next week.
    startingDeadlineSeconds: 3600,
    // A failed drill is reported once, not retried into a second report.
    backoffLimit: 0,
    activeDeadlineSeconds: jobDeadlineSeconds,
    terminationGracePeriodSeconds: 120,
    podLabels: backupPodLabels(args.app),
    ...scriptPod(args.bundle, { script: "drill.sh", env, runAs: args.runAs }),
    ...(args.options ? { options: args.options } : {}),
  });
}
