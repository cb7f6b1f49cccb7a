import { ConfigError } from "@infra/core";
import {
  type BackupConfig,
  type BackupCredentials,
  type BackupSettings,
  backupConfigNamespace,
  defaultDrillSchedule,
  type NotifyUrls,
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
 * schedule and retention (`<project>:backup`) where it sets them, the notification target
 * (`backup:notify`, its URLs from the secret output `backupNotify`), and the credentials of the one
 * repository the jobs open (its own password and storage key, from its secrets file:
 * `readBackupCredentials`): what every stateful project makes its backup jobs with.
 */
export function getBackupConfig(credentials: BackupCredentials): BackupConfig {
  refuseBackupKeysOutsideShared();
  const settings = requireStackOutput<BackupSettings>("shared", "backup");
  return withBackupOverrides(
    {
      remote: settings.apply((stack) => stack.remote),
      storage: settings.apply((stack) => stack.storage),
      schedule: settings.apply((stack) => stack.schedule),
      // A shared stack exported before drills existed has none: the default.
      drillSchedule: settings.apply((stack) => stack.drillSchedule ?? defaultDrillSchedule),
      retention: settings.apply((stack) => stack.retention),
      appendOnly: settings.apply((stack) => stack.appendOnly),
      notify: settings.apply((stack) => stack.notify),
      // Read only when the stack has a target: the URLs are a secret output of their own.
      notifyUrls: settings.apply(
        (stack): pulumi.Output<NotifyUrls> =>
          stack.notify ? requireStackOutput<NotifyUrls>("shared", "backupNotify") : pulumi.output({}),
      ),
      ...credentials,
    },
    readBackupOverrides(),
  );
}
