import { ConfigError } from "@infra/core";
import {
  type BackupConfig,
  type BackupSettings,
  backupConfigNamespace,
  readBackupOverrides,
  withBackupOverrides,
} from "@infra/restic";
import * as pulumi from "@pulumi/pulumi";
import { requireStackOutput } from "./stack-reference";

/** Backup keys are set once per stack, in `shared`: anywhere else they would be ignored. */
function refuseBackupKeysOutsideShared(): void {
  const stray = Object.keys(pulumi.runtime.allConfig()).filter((key) =>
    key.startsWith(`${backupConfigNamespace}:`),
  );
  if (stray.length === 0) return;
  throw new ConfigError(
    `Stack "${pulumi.getStack()}" of project "${pulumi.getProject()}" sets ${stray.join(", ")}, but backup ` +
      `settings are set once per stack, in pulumi/projects/shared/Pulumi.${pulumi.getStack()}.yaml. Move ` +
      `them there; a project may set its own schedule and retention with ${pulumi.getProject()}:backup.`,
  );
}

/**
 * The stack's backup settings, as the `shared` project exports them, with this project's own
 * schedule and retention (`<project>:backup`) where it sets them: what every stateful project
 * makes its backup jobs with. The rclone config and restic password stay secrets.
 */
export function getBackupConfig(): BackupConfig {
  refuseBackupKeysOutsideShared();
  const settings = requireStackOutput<BackupSettings>("shared", "backup");
  const secrets = requireStackOutput<{ rcloneConfig: string; resticPassword: string }>(
    "shared",
    "backupSecrets",
  );
  return withBackupOverrides(
    {
      remote: settings.apply((stack) => stack.remote),
      storage: settings.apply((stack) => stack.storage),
      schedule: settings.apply((stack) => stack.schedule),
      retention: settings.apply((stack) => stack.retention),
      rcloneConfig: secrets.apply((stack) => stack.rcloneConfig),
      resticPassword: secrets.apply((stack) => stack.resticPassword),
    },
    readBackupOverrides(),
  );
}
