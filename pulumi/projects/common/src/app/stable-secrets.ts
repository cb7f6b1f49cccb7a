import { join, resolve } from "node:path";
import {
  appSecretsFile,
  type BackupSecretKey,
  backupSecrets,
  backupSecretsFile,
  type SecretsFile,
} from "@infra/app-secrets";
import { ConfigError } from "@infra/core";
import type { BackupCredentials } from "@infra/restic";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** The repository's root, where `secrets/` lies (this file is in pulumi/projects/common/src/app). */
const repositoryRoot = resolve(__dirname, "..", "..", "..", "..", "..");

/** The command that decrypts a secrets file (sops finds the age key in SOPS_AGE_KEY, `unlock`). */
export function decryptCommand(file: string): string {
  return `sops --decrypt --output-type json '${file}'`;
}

/** A secrets file, decrypted once on the operator's machine: the values of the keys asked for. */
export interface OpenSecretsFile {
  file: SecretsFile;
  /**
   * The values of these keys, as Pulumi secrets that are never logged. A key the file lacks fails
   * the program, naming the file, the keys and the task that completes it.
   */
  values<Key extends string>(keys: readonly Key[]): Record<Key, pulumi.Output<string>>;
}

function guidance(file: SecretsFile): string {
  return (
    `Create or complete it with \`${file.task}\` (it adds only what is missing; a storage key comes ` +
    "from STORAGE_CONFIG=<file>), and run Pulumi in a shell where `unlock` loaded your age key."
  );
}

/**
 * Decrypts a secrets file with sops (`secrets/apps/<app>.yaml`, `secrets/backups/<name>.yaml`):
 * values kept in the repository, encrypted for the admins, never in one stack's state, so every
 * server and a recovery from nothing read the same ones.
 */
export function openSecretsFile(file: SecretsFile, parent?: pulumi.Resource): OpenSecretsFile {
  const path = join(repositoryRoot, file.path);
  const decrypted = command.local
    .run(
      // Nothing of what sops prints may reach Pulumi's log.
      { command: decryptCommand(path), logging: "none" },
      parent ? { parent } : {},
    )
    .then(
      (result) => {
        let values: unknown;
        try {
          values = JSON.parse(result.stdout);
        } catch {
          throw new ConfigError(`${file.path} did not decrypt to a map of secrets. ${guidance(file)}`);
        }
        if (typeof values !== "object" || values === null || Array.isArray(values)) {
          throw new ConfigError(`${file.path} did not decrypt to a map of secrets. ${guidance(file)}`);
        }
        return values as Record<string, unknown>;
      },
      (error: unknown) => {
        throw new ConfigError(
          `Cannot decrypt ${file.path}, the secrets of ${file.owner} (stack "${pulumi.getStack()}"): ` +
            `${error instanceof Error ? error.message : String(error)}. ${guidance(file)}`,
        );
      },
    );
  const secrets = pulumi.secret(pulumi.output(decrypted));
  return {
    file,
    values<Key extends string>(keys: readonly Key[]) {
      const checked = secrets.apply((record) => {
        const missing = keys.filter((key) => typeof record[key] !== "string" || record[key] === "");
        if (missing.length > 0) {
          throw new ConfigError(
            `${file.path} lacks the secret(s) ${missing.join(", ")} of ${file.owner}. ${guidance(file)}`,
          );
        }
        return record as Record<string, string>;
      });
      return Object.fromEntries(
        keys.map((key) => [key, checked.apply((record) => record[key] as string)]),
      ) as Record<Key, pulumi.Output<string>>;
    },
  };
}

/** An app's secrets file, `secrets/apps/<app>.yaml` (its backup secrets and its stable secrets). */
export function openAppSecrets(app: string, parent?: pulumi.Resource): OpenSecretsFile {
  return openSecretsFile(appSecretsFile(repositoryRoot, app), parent);
}

/** A repository's credentials from the secrets file that keeps them (its `resticPassword` and `rcloneConfig`). */
export function readBackupCredentials(opened: OpenSecretsFile): BackupCredentials {
  const values = opened.values(Object.keys(backupSecrets) as BackupSecretKey[]);
  return {
    resticPassword: values.resticPassword,
    rcloneConfig: values.rcloneConfig,
    secretsFile: opened.file.path,
  };
}

/**
 * The credentials of a repository that is no app's (a database server's own, `<kind>-<server>`),
 * from `secrets/backups/<name>.yaml`.
 */
export function readServerBackupCredentials(name: string): BackupCredentials {
  return readBackupCredentials(openSecretsFile(backupSecretsFile(name)));
}
