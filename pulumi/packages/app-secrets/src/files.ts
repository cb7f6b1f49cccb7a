import { existsSync } from "node:fs";
import { join } from "node:path";
import { type AppSecretsSpec, provided, randomString } from "./spec";

/**
 * The secrets every backup repository is opened with, kept with what they open (never in one
 * stack's Pulumi state): its restic password, generated once, and the storage credentials its
 * jobs use in the cluster, a key the operator makes at the storage provider, limited to the
 * repository's prefix and unable to delete history (pulumi/packages/restic/README.md).
 */
export const backupSecrets = {
  // Letters and digits: typed or pasted in a recovery without quoting (~381 bits).
  resticPassword: randomString(64),
  rcloneConfig: provided(
    "the rclone config file the repository's jobs use in the cluster: one remote named as in " +
      "backup:remote, with a key limited to the repository's prefix and unable to delete history " +
      "(pulumi/packages/restic/README.md, Storage credentials)",
    "STORAGE_CONFIG",
  ),
} as const satisfies AppSecretsSpec;

/** The keys of `backupSecrets`. */
export type BackupSecretKey = keyof typeof backupSecrets;

/** A secrets file of the repository, and what it holds. */
export interface SecretsFile {
  /** Its path from the repository's root, such as `secrets/apps/n8n.yaml`. */
  path: string;
  /** Whose secrets they are: an app, or the data one server owns (`postgresql-cloud-a`). */
  owner: string;
  /** What the file holds, and how each value is made. */
  spec: AppSecretsSpec;
  /** The task that creates or completes it. */
  task: string;
}

const ownerName = /^[a-z0-9][a-z0-9-]*$/;

function checkOwner(owner: string): void {
  if (!ownerName.test(owner)) {
    throw new Error(`"${owner}" is not an app or backup name (lower-case letters, digits and "-")`);
  }
}

/**
 * An app's file, `secrets/apps/<app>.yaml`: the backup secrets of its repository (the app kit
 * backs every app up into one of its own) and the stable secrets `pulumi/apps/<app>/src/secrets.ts`
 * declares, if it declares any. A spec key may not take a backup key's name.
 */
export function appSecretsFile(repositoryRoot: string, app: string): SecretsFile {
  checkOwner(app);
  const declaredIn = join(repositoryRoot, "pulumi", "apps", app, "src", "secrets.ts");
  const declared = existsSync(declaredIn)
    ? ((require(declaredIn) as { secrets?: AppSecretsSpec }).secrets ?? {})
    : {};
  for (const key of Object.keys(declared)) {
    if (key in backupSecrets) {
      throw new Error(`${declaredIn} declares "${key}", which the app kit keeps for the app's backups`);
    }
  }
  return {
    path: `secrets/apps/${app}.yaml`,
    owner: app,
    spec: { ...backupSecrets, ...declared },
    task: `task app:secrets APP=${app}`,
  };
}

/**
 * The file of a repository that is no app's (a database server's own data, `<kind>-<server>`):
 * `secrets/backups/<name>.yaml`, holding its backup secrets only.
 */
export function backupSecretsFile(name: string): SecretsFile {
  checkOwner(name);
  return {
    path: `secrets/backups/${name}.yaml`,
    owner: name,
    spec: backupSecrets,
    task: `task backup:secrets NAME=${name}`,
  };
}

/** The secrets file at a path from the repository's root (`secrets/apps/<app>.yaml` or `secrets/backups/<name>.yaml`). */
export function secretsFileAt(repositoryRoot: string, path: string): SecretsFile {
  const match = /^secrets\/(apps|backups)\/([^/]+)\.yaml$/.exec(path);
  if (!match?.[1] || !match[2]) {
    throw new Error(`${path} is not a secrets file: secrets/apps/<app>.yaml or secrets/backups/<name>.yaml`);
  }
  return match[1] === "apps" ? appSecretsFile(repositoryRoot, match[2]) : backupSecretsFile(match[2]);
}
