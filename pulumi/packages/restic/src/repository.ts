import { readFileSync } from "node:fs";
import { join } from "node:path";
import { images } from "@infra/core";
import { createSecret, emptyDir, type NamespacedObjectArgs } from "@infra/k8s";
import type { ScriptEnvironment, ToolPackage } from "@infra/scripting";
import { toolsDir } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { BackupConfig, NotifyTarget, StorageHosts } from "./config";

/** The directory of the shipped scripts (backup.sh, restore.sh, common.sh, notify-lib.sh, final-backup.sh). */
export const resticScriptsDir = join(__dirname, "..", "scripts");

/** The scripts the backup and restore jobs run, exactly as `scripts.test.ts` proves them. */
export const resticScripts: Record<string, string> = Object.fromEntries(
  ["backup.sh", "restore.sh", "drill.sh", "common.sh", "notify-lib.sh"].map((name) => [
    name,
    readFileSync(join(resticScriptsDir, name), "utf8"),
  ]),
);

/** Where the jobs find the repository password and the rclone config (mounted Secrets). */
export const secretPaths = {
  resticPassword: "/secrets/restic/password",
  rcloneConfig: "/secrets/rclone/rclone.conf",
  notifyUrl: "/secrets/notify/url",
  notifyHeartbeat: "/secrets/notify/heartbeat",
} as const;

/** restic and rclone, copied from their release images; restic's CA bundle serves both (Go reads SSL_CERT_FILE). */
export const backupTools: ToolPackage[] = [
  {
    name: "restic",
    image: images.restic,
    files: {
      "/usr/bin/restic": "bin/restic",
      "/etc/ssl/certs/ca-certificates.crt": "ssl/ca-certificates.crt",
    },
  },
  { name: "rclone", image: images.rclone, files: { "/usr/local/bin/rclone": "bin/rclone" } },
];

/** One repository's jobs: where it lives, how to open it, who may be reached. */
export interface BackupRepository {
  /** `<remote>:<bucket>[/<path>]` under which the repository lies (`<remote>/<identity>`). */
  remote: pulumi.Input<string>;
  /** Its own restic password (`password`), in the namespace of the jobs that use it only. */
  passwordSecret: k8s.core.v1.Secret;
  /** Its own rclone config (`rclone.conf`): a storage key limited to its prefix. */
  rcloneSecret: k8s.core.v1.Secret;
  storage: pulumi.Input<StorageHosts>;
  /** Whether the credentials cannot delete history: the jobs then leave retention to the operator. */
  appendOnly: pulumi.Input<boolean>;
  /** Where the password is kept, from the repository's root (for the operator's tasks). */
  secretsFile: string;
  /**
   * Where the jobs report their outcome (the stack's `backup:notify`; none when the target resolves
   * to undefined), and the Secret holding its URLs (`url`, `heartbeat`) in the jobs' namespace.
   */
  notify?: { target: pulumi.Input<NotifyTarget | undefined>; secret: k8s.core.v1.Secret };
}

export interface BackupRepositoryArgs extends Pick<NamespacedObjectArgs, "namespace" | "options"> {
  config: BackupConfig;
}

/**
 * Creates the Secrets one repository's jobs open it with, in their namespace: its password and its
 * storage key, nothing another repository uses.
 */
export function createBackupRepository(args: BackupRepositoryArgs): BackupRepository {
  const common = { namespace: args.namespace, ...(args.options ? { options: args.options } : {}) };
  return {
    remote: args.config.remote,
    passwordSecret: createSecret({
      name: "restic-password",
      ...common,
      stringData: { password: args.config.resticPassword },
    }),
    rcloneSecret: createSecret({
      name: "rclone-config",
      ...common,
      stringData: { "rclone.conf": args.config.rcloneConfig },
    }),
    storage: args.config.storage,
    appendOnly: args.config.appendOnly,
    secretsFile: args.config.secretsFile,
    ...(args.config.notify === undefined
      ? {}
      : {
          notify: {
            target: args.config.notify,
            secret: createSecret({
              name: "backup-notify",
              ...common,
              stringData: notifySecretData(args.config.notifyUrls),
            }),
          },
        }),
  };
}

// The URLs are a secret whatever the stack made them: they may hold a token or a ping key.
function notifySecretData(urls: BackupConfig["notifyUrls"]): Record<string, pulumi.Output<string>> {
  const secret = pulumi.secret(pulumi.output(urls ?? {}));
  return {
    url: secret.apply((value) => value.url ?? ""),
    heartbeat: secret.apply((value) => value.heartbeat ?? ""),
  };
}

/**
 * An app's repository: `rclone:<remote>:<bucket>[/<path>]/<app>`. It names the app and never the
 * cluster, so any cluster restores it.
 */
export function repositoryOf(remote: pulumi.Input<string>, app: string): pulumi.Output<string> {
  return pulumi.interpolate`rclone:${remote}/${app}`;
}

/**
 * What every backup and restore job needs: the scripts, restic and rclone, the repository's secrets,
 * and the notification target's settings (notify-lib.sh) when the repository has one.
 */
export function resticEnvironment(repository: BackupRepository): ScriptEnvironment {
  const notify = repository.notify;
  return {
    name: "restic",
    scripts: resticScripts,
    packages: backupTools,
    env: {
      RESTIC_PASSWORD_FILE: secretPaths.resticPassword,
      RCLONE_CONFIG: secretPaths.rcloneConfig,
      // The cache only saves downloads within one run.
      RESTIC_CACHE_DIR: "/cache/restic",
      SSL_CERT_FILE: `${toolsDir}/ssl/ca-certificates.crt`,
      ...(notify
        ? {
            NOTIFY_KIND: pulumi.output(notify.target).apply((target) => target?.kind ?? ""),
            NOTIFY_URL_FILE: secretPaths.notifyUrl,
            NOTIFY_HEARTBEAT_FILE: secretPaths.notifyHeartbeat,
          }
        : {}),
    },
    mounts: [
      { volume: repository.passwordSecret, mountPath: "/secrets/restic", defaultMode: 0o400 },
      { volume: repository.rcloneSecret, mountPath: "/secrets/rclone", defaultMode: 0o400 },
      ...(notify ? [{ volume: notify.secret, mountPath: "/secrets/notify", defaultMode: 0o400 }] : []),
      { volume: emptyDir("restic-cache"), mountPath: "/cache" },
    ],
  };
}
