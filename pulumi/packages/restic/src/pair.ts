import { emptyDir, type VolumeMountArgs } from "@infra/k8s";
import { createScriptBundle, type RunAs, type ScriptBundle, type ScriptEnvironment } from "@infra/scripting";
import type * as command from "@pulumi/command";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { defaultDrillSchedule, defaultRetention, type Retention } from "./config";
import { createDrillJob, type DrillHooks } from "./drill";
import { createFinalBackup } from "./final-backup";
import { backupPodLabels, createBackupJob, createRestoreJob } from "./jobs";
import { createStoragePolicy } from "./policy";
import { type BackupRepository, repositoryOf, resticEnvironment } from "./repository";

/**
 * Hooks for data that is not files on a volume (a database): the backup dumps it into the scratch
 * BACKUP_DIR, the restore loads the dump and asks whether the data is already there.
 */
export interface BackupHooks {
  /** What every job of the pair needs for the hooks: their scripts, client settings, secrets. */
  environment: ScriptEnvironment;
  /**
   * Added to the scheduled backup only, which runs while the data's server serves: how to reach
   * it. Omitted when every job reaches the data the same way (an app's database on the shared
   * server: the app is stopped, not the server).
   */
  online?: ScriptEnvironment;
  /**
   * Added to the restore job and the final backup, which run while the data's own server is
   * stopped: mounts its volume and starts (setup) and stops (cleanup) a private server on it.
   */
  offline?: ScriptEnvironment;
  /** Files of `environment`: BACKUP_HOOK, RESTORE_PRESENT_HOOK and RESTORE_HOOK. */
  backup: string;
  present: string;
  restore: string;
  /**
   * How the restore drill loads the dump into a throwaway server and queries it (`present` and
   * `restore` must be files of its environment too). Without it the drill checks the dump's files only.
   */
  drill?: DrillHooks;
}

/** A volume backed up as files: the snapshot's directory `<name>`. */
export interface BackupVolume {
  /**
   * Its directory in the snapshot (a DNS label). Keep it stable: a renamed volume no longer
   * finds its files in older snapshots.
   */
  name: string;
  claim: k8s.core.v1.PersistentVolumeClaim;
  /** Paths inside the volume that are not backed up (what the app rebuilds itself: caches, indexes). */
  exclude?: string[];
}

export interface JobPairArgs {
  /** The app: names the jobs and their pods' label; letters, digits, ".", "_", "-". */
  app: string;
  /**
   * What restic knows the data by: its repository `rclone:<remote>/<identity>`, and the host and
   * tag of its snapshots. The app's name for data that moves between servers with its app; a name
   * of its server's for data that belongs to one server (a database server), so that no two
   * servers ever write one repository.
   * @default app
   */
  identity?: string;
  namespace: k8s.core.v1.Namespace;
  /** The volumes backed up as files. */
  volumes?: BackupVolume[];
  /** Hooks for the data that is not files (a database). At least one of `volumes` and `hooks`. */
  hooks?: BackupHooks;
  /**
   * What the jobs need besides the volumes (the volume a private server runs on, an app's
   * database and the policies that reach it): the jobs are created after it, and it is deleted
   * only after the final backup succeeded.
   */
  requires?: pulumi.Resource[];
  /** When the scheduled backup runs (a CronJob schedule, UTC). */
  schedule: pulumi.Input<string>;
  /**
   * When the restore drill runs (`<app>-drill`, a CronJob schedule, UTC): the stack's
   * `backup:drillSchedule`.
   * @default defaultDrillSchedule (Sundays 05:00)
   */
  drillSchedule?: pulumi.Input<string>;
  retention?: pulumi.Input<Retention>;
  /** Where the repositories live and the Secrets that open them (`createBackupRepository`). */
  repository: BackupRepository;
  /** The server's kube context (`getSharedEnvironment().server`): the final backup runs kubectl with it. */
  kubeContext: pulumi.Input<string>;
  /**
   * The server's name (BACKUP_SERVER of every job): the restore takes the data's hold for it, and
   * its backups are refused once another server holds the data (scripts/README.md, "Which server
   * holds an app").
   */
  server: pulumi.Input<string>;
  /**
   * How the restore takes the data from the server that holds it: `snapshot` restores exactly the
   * migration's final snapshot (RESTORE_SNAPSHOT), `forceHold` takes the data whatever the hold says
   * (RESTORE_FORCE_HOLD), giving up what the holder wrote after the restored snapshot.
   */
  restore?: { snapshot?: string; forceHold?: boolean };
  /**
   * The app is stopped on the source of its migration: the scheduled backup is suspended (the
   * final backup must stay the newest snapshot, which the target restores), and the final backup
   * checks the repository's structure without reading its data back, since the target's restore
   * reads every file of that snapshot before anything of the source is removed.
   * @default false
   */
  sourceOfMigration?: boolean;
  /**
   * The user and group every job of the pair runs as (never root): those the data's files belong
   * to, an app's own user or its database server's, so that restic reads every file and a restore
   * gives the files back to them. A file that user cannot read fails the backup, before any
   * snapshot is written; files of other owners come back owned by it (scripts/README.md).
   */
  runAs: RunAs;
}

/** An app's backups, as the stack exports them for `task backup:status` and `task backup:prune`. */
export interface BackupEntry {
  /** The identity its snapshots carry (host and tag). */
  app: string;
  namespace: pulumi.Output<string>;
  schedule: pulumi.Output<string>;
  repository: pulumi.Output<string>;
  /** The snapshots kept: what `task backup:prune` keeps (and the jobs, unless append-only). */
  retention: pulumi.Output<Retention>;
  /** The sops file holding the repository's password, from the repository's root. */
  secretsFile: string;
}

export interface JobPair {
  /** The scheduled backup. */
  backup: k8s.batch.v1.CronJob;
  /** The restore before the app starts. */
  restore: k8s.batch.v1.Job;
  /** The scheduled restore drill: the latest snapshot restored into scratch and checked (drill.sh). */
  drill: k8s.batch.v1.CronJob;
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
const volumeName = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// The final backup's job is named <app>-final-backup-<UTC timestamp>, at most 63 characters.
const maxAppLength = 63 - "-final-backup-20250101000000".length;

/** The scratch directory every job of a pair backs up from and restores into. */
export const backupDir = "/backup";

function checkArgs(args: JobPairArgs): void {
  const { app } = args;
  if (!appName.test(app) || app.length > maxAppLength) {
    throw new Error(
      `Backup app "${app}": letters, digits, ".", "_", "-", at most ${maxAppLength} characters`,
    );
  }
  if (args.identity !== undefined && !appName.test(args.identity)) {
    throw new Error(`Backup identity "${args.identity}" of ${app}: letters, digits, ".", "_", "-"`);
  }
  const snapshot = args.restore?.snapshot;
  if (snapshot !== undefined && !/^[0-9a-f]{8,64}$/.test(snapshot)) {
    throw new Error(`Restore of ${app}: "${snapshot}" is not a snapshot id (8 to 64 hex digits)`);
  }
  const names = (args.volumes ?? []).map((volume) => volume.name);
  if (names.length === 0 && !args.hooks) throw new Error(`Backup of ${app}: nothing to back up`);
  for (const name of names) {
    if (!volumeName.test(name)) throw new Error(`Backup of ${app}: volume "${name}" needs a DNS label name`);
    if (names.indexOf(name) !== names.lastIndexOf(name)) {
      throw new Error(`Backup of ${app}: two volumes are named "${name}"`);
    }
  }
  for (const volume of args.volumes ?? []) {
    for (const path of volume.exclude ?? []) {
      if (path === "" || path.startsWith("/") || path.split("/").includes("..")) {
        throw new Error(`Backup of ${app}: "${path}" is not a path inside volume ${volume.name}`);
      }
    }
  }
}

/**
 * Backs up an app's volumes (each a directory of the snapshot) and, with hooks, its database (a
 * dump beside them) on a schedule, into one repository; restores them before the app starts; and
 * takes a final backup when the app is destroyed:
 * - a CronJob running backup.sh, a Job running restore.sh (Pulumi waits for it), a suspended
 *   CronJob that is the final backup's template, and a command whose delete runs the final backup;
 * - the policy that lets these jobs reach the storage hosts (and the notification target) and
 *   nothing else. Every job reports its outcome to the stack's target (scripts/notify-lib.sh).
 * Give the app's workload `dependsOn: pair.dependsOn`: a failed restore then fails the deployment
 * before the app starts on an empty volume, and `pulumi destroy` stops the app, takes the final
 * backup, and deletes the volumes (and `keep`) only after it succeeded.
 */
export function createJobPair(args: JobPairArgs): JobPair {
  checkArgs(args);
  const { app, namespace, hooks } = args;
  const identity = args.identity ?? app;
  const volumes = args.volumes ?? [];
  const repository = repositoryOf(args.repository.remote, identity);
  const appEnvironment: ScriptEnvironment = {
    name: "app",
    env: {
      BACKUP_APP: identity,
      BACKUP_SERVER: args.server,
      BACKUP_DIR: backupDir,
      RESTIC_REPOSITORY: repository,
      ...(volumes.length > 0 ? { BACKUP_VOLUMES: volumes.map((volume) => volume.name).join(" ") } : {}),
    },
    // The volumes mount below it; a database dump is written beside them.
    mounts: [{ volume: emptyDir("backup-scratch"), mountPath: backupDir }],
  };
  const base = [resticEnvironment(args.repository), appEnvironment];
  const volumeMounts = (readOnly: boolean): VolumeMountArgs[] =>
    volumes.map((volume) => ({ volume: volume.claim, mountPath: `${backupDir}/${volume.name}`, readOnly }));
  const exclude = volumes.flatMap((volume) => (volume.exclude ?? []).map((path) => `${volume.name}/${path}`));

  const hookEnvironments = (extra: ScriptEnvironment | undefined) =>
    hooks ? [hooks.environment, ...(extra ? [extra] : [])] : [];
  const online = createScriptBundle({
    name: `${app}-backup-scripts`,
    namespace,
    environments: [...base, ...hookEnvironments(hooks?.online)],
  });
  const offline = hooks?.offline
    ? createScriptBundle({
        name: `${app}-offline-backup-scripts`,
        namespace,
        environments: [...base, ...hookEnvironments(hooks.offline)],
      })
    : online;

  // The jobs' pods reach nothing before the storage policy exists: a restore would fail.
  const policy = createStoragePolicy({
    app,
    namespace,
    storage: args.repository.storage,
    ...(args.repository.notify ? { notify: args.repository.notify.target } : {}),
  });
  const options = { dependsOn: [policy, ...(args.requires ?? [])] };
  const backupJob = (final: boolean) =>
    createBackupJob({
      app,
      namespace,
      bundle: final ? offline : online,
      schedule: args.schedule,
      ...(args.retention ? { retention: args.retention } : {}),
      appendOnly: args.repository.appendOnly,
      ...(hooks ? { backupHook: hooks.backup } : {}),
      ...(exclude.length > 0 ? { exclude } : {}),
      mounts: volumeMounts(true),
      final,
      ...(args.sourceOfMigration ? (final ? { finalReadDataSubset: "" } : { suspended: true }) : {}),
      runAs: args.runAs,
      options,
    });
  const backup = backupJob(false);
  const template = backupJob(true);
  const restore = createRestoreJob({
    app,
    namespace,
    bundle: offline,
    ...(hooks ? { presentHook: hooks.present, restoreHook: hooks.restore } : {}),
    ...(args.restore?.snapshot ? { snapshot: args.restore.snapshot } : {}),
    ...(args.restore?.forceHold ? { forceHold: true } : {}),
    mounts: volumeMounts(false),
    runAs: args.runAs,
    options,
  });
  // The drill mounts no volume of the app: it restores into the bundle's scratch BACKUP_DIR.
  const drillBundle = hooks?.drill
    ? createScriptBundle({
        name: `${app}-drill-scripts`,
        namespace,
        environments: [...base, hooks.drill.environment],
      })
    : online;
  const drill = createDrillJob({
    app,
    namespace,
    bundle: drillBundle,
    schedule: args.drillSchedule ?? defaultDrillSchedule,
    ...(hooks?.drill
      ? { database: { hooks: hooks.drill, restore: hooks.restore, present: hooks.present } }
      : {}),
    runAs: args.runAs,
    options,
  });
  const bundles = [...new Set([online, offline, drillBundle])];
  const finalBackup = createFinalBackup({
    app,
    namespace,
    template,
    scheduled: backup,
    kubeContext: args.kubeContext,
    dependsOn: [
      restore,
      ...volumes.map((volume) => volume.claim),
      ...(args.requires ?? []),
      args.repository.passwordSecret,
      args.repository.rcloneSecret,
      ...(args.repository.notify ? [args.repository.notify.secret] : []),
      policy,
      ...bundles.map((bundle) => bundle.configMap),
    ],
  });
  return {
    backup,
    restore,
    drill,
    finalBackup: { template, command: finalBackup },
    policy,
    podLabels: backupPodLabels(app),
    bundles,
    dependsOn: [restore, finalBackup],
    entry: {
      app: identity,
      namespace: namespace.metadata.name,
      schedule: pulumi.output(args.schedule),
      repository,
      retention: pulumi.output(args.retention ?? defaultRetention),
      secretsFile: args.repository.secretsFile,
    },
  };
}
