import { emptyDir, type VolumeMountArgs } from "@infra/k8s";
import { createScriptBundle, type ScriptBundle, type ScriptEnvironment } from "@infra/scripting";
import type * as command from "@pulumi/command";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Retention } from "./config";
import { createFinalBackup } from "./final-backup";
import { backupPodLabels, createBackupJob, createRestoreJob } from "./jobs";
import { createStoragePolicy } from "./policy";
import { type BackupRepository, repositoryOf, resticEnvironment } from "./repository";

/**
 * Hooks for data that is not files on the volume (a database): the backup dumps it into a scratch
 * BACKUP_DIR, the restore loads the dump and asks whether the data is already there.
 */
export interface BackupHooks {
  /** What every job of the pair needs for the hooks: their scripts, client settings, secrets. */
  environment: ScriptEnvironment;
  /** Added to the scheduled backup, which runs next to the app: how to reach the app's server. */
  online: ScriptEnvironment;
  /**
   * Added to the restore job and the final backup, which run while the app is stopped: mounts the
   * app's volume and starts (setup) and stops (cleanup) what the hooks talk to.
   */
  offline: ScriptEnvironment;
  /** Files of `environment`: BACKUP_HOOK, RESTORE_PRESENT_HOOK and RESTORE_HOOK. */
  backup: string;
  present: string;
  restore: string;
}

export interface JobPairArgs {
  /** The app: its repository is `rclone:<remote>/<app>`; letters, digits, ".", "_", "-". */
  app: string;
  namespace: k8s.core.v1.Namespace;
  /** The app's data volume: backed up as it is, or, with hooks, what their offline environment mounts. */
  volume: k8s.core.v1.PersistentVolumeClaim;
  /** When the scheduled backup runs (a CronJob schedule, UTC). */
  schedule: string;
  retention?: Retention;
  /** Where the repositories live and the Secrets that open them (`createBackupRepository`). */
  repository: BackupRepository;
  hooks?: BackupHooks;
  /** The server's kube context (`getSharedEnvironment().server`): the final backup runs kubectl with it. */
  kubeContext: pulumi.Input<string>;
}

/** An app's backups, as the stack exports them for `task backup:status`. */
export interface BackupEntry {
  app: string;
  namespace: pulumi.Output<string>;
  schedule: string;
  repository: string;
}

export interface JobPair {
  /** The scheduled backup. */
  backup: k8s.batch.v1.CronJob;
  /** The restore before the app starts. */
  restore: k8s.batch.v1.Job;
  /** The final backup when the app is destroyed: its template and the command that runs it. */
  finalBackup: { template: k8s.batch.v1.CronJob; command: command.local.Command };
  /** The jobs' way to the storage hosts. */
  policy: k8s.apiextensions.CustomResource;
  /** The labels of every pod of these jobs (for policies to the app's server). */
  podLabels: Record<string, string>;
  bundles: ScriptBundle[];
  /**
   * What the app's workload must depend on: it is created after the restore succeeded, and on
   * destroy deleted before the final backup runs.
   */
  dependsOn: pulumi.Resource[];
  entry: BackupEntry;
}

const appName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// The final backup's job is named <app>-final-backup-<UTC timestamp>, at most 63 characters.
const maxAppLength = 63 - "-final-backup-20250101000000".length;

/**
 * Backs up an app's volume (or, with hooks, its database) on a schedule and restores it before the
 * app starts, and takes a final backup when the app is destroyed:
 * - a CronJob running backup.sh, a Job running restore.sh (Pulumi waits for it), a suspended
 *   CronJob that is the final backup's template, and a command whose delete runs the final backup;
 * - the policy that lets these jobs reach the storage hosts and nothing else.
 * Give the app's workload `dependsOn: pair.dependsOn`: a failed restore then fails the deployment
 * before the app starts on an empty volume, and `pulumi destroy` stops the app, takes the final
 * backup, and deletes the volume only after it succeeded.
 */
export function createJobPair(args: JobPairArgs): JobPair {
  const { app, namespace, hooks } = args;
  if (!appName.test(app) || app.length > maxAppLength) {
    throw new Error(
      `Backup app "${app}": letters, digits, ".", "_", "-", at most ${maxAppLength} characters`,
    );
  }
  const repository = repositoryOf(args.repository.remote, app);
  // Without hooks the volume itself is backed up; with hooks, a dump in a scratch directory.
  const backupDir = hooks ? "/backup" : "/data";
  const appEnvironment: ScriptEnvironment = {
    name: "app",
    env: { BACKUP_APP: app, BACKUP_DIR: backupDir, RESTIC_REPOSITORY: repository },
    ...(hooks ? { mounts: [{ volume: emptyDir("backup-scratch"), mountPath: backupDir }] } : {}),
  };
  const base = [resticEnvironment(args.repository), appEnvironment];
  const volumeMount = (readOnly: boolean): VolumeMountArgs[] =>
    hooks ? [] : [{ volume: args.volume, mountPath: backupDir, readOnly }];

  const online = createScriptBundle({
    name: `${app}-backup-scripts`,
    namespace,
    environments: hooks ? [...base, hooks.environment, hooks.online] : base,
  });
  const offline = hooks
    ? createScriptBundle({
        name: `${app}-offline-backup-scripts`,
        namespace,
        environments: [...base, hooks.environment, hooks.offline],
      })
    : online;

  // The jobs' pods reach nothing before the storage policy exists: a restore would fail.
  const policy = createStoragePolicy({ app, namespace, storage: args.repository.storage });
  const options = { dependsOn: [policy] };
  const backupJob = (final: boolean) =>
    createBackupJob({
      app,
      namespace,
      bundle: final ? offline : online,
      schedule: args.schedule,
      ...(args.retention ? { retention: args.retention } : {}),
      ...(hooks ? { backupHook: hooks.backup } : {}),
      mounts: volumeMount(true),
      final,
      options,
    });
  const backup = backupJob(false);
  const template = backupJob(true);
  const restore = createRestoreJob({
    app,
    namespace,
    bundle: offline,
    ...(hooks ? { presentHook: hooks.present, restoreHook: hooks.restore } : {}),
    mounts: volumeMount(false),
    options,
  });
  const bundles = hooks ? [online, offline] : [online];
  const finalBackup = createFinalBackup({
    app,
    namespace,
    template,
    scheduled: backup,
    kubeContext: args.kubeContext,
    dependsOn: [
      restore,
      args.volume,
      args.repository.passwordSecret,
      args.repository.rcloneSecret,
      policy,
      ...bundles.map((bundle) => bundle.configMap),
    ],
  });
  return {
    backup,
    restore,
    finalBackup: { template, command: finalBackup },
    policy,
    podLabels: backupPodLabels(app),
    bundles,
    dependsOn: [restore, finalBackup],
    entry: { app, namespace: namespace.metadata.name, schedule: args.schedule, repository },
  };
}
