import { emptyDir, type VolumeMountArgs } from "@infra/k8s";
import type { BackupHooks } from "@infra/restic";
import type * as k8s from "@pulumi/kubernetes";
import { type DatabaseEngine, databaseScripts, serverHost } from "./engines";

/** Where the admin Secret mounts, in the server and in every job that logs in as the admin. */
export const adminSecretDir = "/secrets/database-admin";
export const adminPasswordFile = `${adminSecretDir}/password`;

export interface ServerVolumes {
  /** The Secret holding the admin password (`password`). */
  adminSecret: k8s.core.v1.Secret;
  /** The server's data volume. */
  data: k8s.core.v1.PersistentVolumeClaim;
}

/**
 * The mounts of the server's container, which the private server of the offline jobs shares: the
 * whole volume, the admin password, and the directory of its socket and lock files (the root
 * filesystem is read-only). The admin password's 0400 is 0440 for the server's group, the pod's
 * fsGroup, which is how the server's user reads it.
 */
export function serverMounts(engine: DatabaseEngine, volumes: ServerVolumes): VolumeMountArgs[] {
  return [
    { volume: volumes.data, mountPath: engine.dataMount },
    { volume: volumes.adminSecret, mountPath: adminSecretDir, defaultMode: 0o400 },
    { volume: emptyDir("run"), mountPath: engine.runDir },
  ];
}

/**
 * The backup hooks of a database server, for `createJobPair`: consistent online dumps of every
 * database by the scheduled backup (over the network, from the running server); the restore job
 * and the final backup, which run while the server is stopped, start a private server of the same
 * image on its volume (listening on 127.0.0.1 only) and stop it afterwards. The restore job asks
 * the present hook first, so a server with data is never overwritten.
 */
export function databaseBackupHooks(engine: DatabaseEngine, volumes: ServerVolumes): BackupHooks {
  const { files } = engine;
  const admin = { volume: volumes.adminSecret, mountPath: adminSecretDir, defaultMode: 0o400 };
  return {
    environment: {
      name: `${engine.kind}-hooks`,
      image: engine.image,
      scripts: databaseScripts(...files.libraries, files.backup, files.present, files.restore),
      env: { DB_USER: engine.adminUser, DB_PORT: String(engine.port), DB_PASSWORD_FILE: adminPasswordFile },
      mounts: [admin],
    },
    online: { name: `${engine.kind}-server`, env: { DB_HOST: serverHost(engine) } },
    offline: {
      name: `${engine.kind}-private-server`,
      scripts: databaseScripts("private-server-lib.sh", files.start, files.stop),
      setup: files.start,
      cleanup: files.stop,
      env: {
        DB_HOST: "127.0.0.1",
        // Where the app's own server would answer: the private server refuses to start next to it.
        DB_LIVE_HOST: serverHost(engine),
        ...engine.serverEnv(adminPasswordFile),
        ...engine.privateServerEnv,
      },
      mounts: serverMounts(engine, volumes),
    },
    backup: files.backup,
    present: files.present,
    restore: files.restore,
  };
}
