import type { EnvValueFrom } from "@infra/k8s";
import { type BackupHooks, backupDir } from "@infra/restic";
import { jqPackage, scriptImage, storeScripts } from "./scripts";

/** The store's volume, as its backup names it (its directory in every snapshot). */
export const storeVolumeName = "garage";

/** What a store's hooks need: its admin API, and the token (an environment value from its Secret). */
export interface StoreHookArgs {
  adminUrl: string;
  adminToken: EnvValueFrom;
}

/**
 * The backup hooks of the object store, for `createJobPair`: a consistent copy of its metadata
 * database beside the volume's files (the live database is excluded from them). The scheduled
 * backup asks the running store for a metadata snapshot (the admin API, so only it gets the
 * token); the final backup and the restore run while the store is stopped. The restore asks the
 * present hook first, so a store with metadata is never overwritten, and puts the copy back as
 * the store's database before the store starts.
 */
export function storeBackupHooks(args: StoreHookArgs): BackupHooks {
  const files = {
    backup: "garage-backup-hook.sh",
    present: "garage-present-hook.sh",
    restore: "garage-restore-hook.sh",
  };
  return {
    environment: {
      name: "garage-hooks",
      image: scriptImage,
      packages: [jqPackage],
      scripts: storeScripts(files.backup, files.present, files.restore),
      env: { GARAGE_META_DIR: `${backupDir}/${storeVolumeName}/meta` },
    },
    online: {
      name: "garage-running",
      env: { GARAGE_ADMIN_URL: args.adminUrl, GARAGE_ADMIN_TOKEN: args.adminToken },
    },
    // The restore and the final backup run while the store is stopped: a bundle of their own,
    // without the admin API, so the hook copies the database at rest.
    offline: { name: "garage-stopped" },
    ...files,
  };
}

/** The paths of the store's volume its backups leave out: the live database, and Garage's own snapshots of it. */
export const storeBackupExclude = ["meta/db.lmdb", "meta/snapshots"];
