import * as pulumi from "@pulumi/pulumi";
import { type BackupConfig, type BackupSettings, storageHosts } from "../config";

/** A stack's backup settings as the shared project exports them, for tests. */
export const exampleBackupSettings: BackupSettings = {
  remote: "storage:homelab-backups",
  storage: storageHosts(["s3.example.com"], [443]),
  schedule: "30 3 * * *",
  drillSchedule: "0 5 * * 0",
  retention: { daily: 7, weekly: 4, monthly: 6 },
  appendOnly: true,
};

/** A repository's credentials, in plain text, for tests. */
export const exampleBackupCredentials = {
  rcloneConfig: "[storage]\ntype = s3\n",
  resticPassword: "restic password",
  secretsFile: "secrets/apps/notes.yaml",
};

/** What a project makes its backup jobs with, for tests: the example settings, credentials kept secret. */
export function exampleBackupConfig(overrides: Partial<BackupSettings> = {}): BackupConfig {
  return {
    ...exampleBackupSettings,
    ...overrides,
    rcloneConfig: pulumi.secret(exampleBackupCredentials.rcloneConfig),
    resticPassword: pulumi.secret(exampleBackupCredentials.resticPassword),
    secretsFile: exampleBackupCredentials.secretsFile,
  };
}
