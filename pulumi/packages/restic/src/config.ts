import { classifyHosts, type ExternalHosts } from "@infra/cilium";
import { ConfigError, externalHost, port, readConfig } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";

/** The config namespace of the backup settings, set once per stack in the `shared` project (`backup:<key>`). */
export const backupConfigNamespace = "backup";

/** How many daily, weekly and monthly snapshots an app keeps (`0` turns a rule off). */
export interface Retention {
  daily: number;
  weekly: number;
  monthly: number;
}

/** The hosts the backup jobs may reach: the storage behind the rclone remote, on its ports. */
export interface StorageHosts extends ExternalHosts {
  ports: number[];
}

/** A stack's backup settings, as `shared` reads them from `backup:*` and exports them. */
export interface BackupSettings {
  /**
   * `<remote>:<bucket>[/<path>]` of the rclone config: each app's repository is
   * `rclone:<remote>:<bucket>[/<path>]/<app>`, the same on every cluster.
   */
  remote: string;
  storage: StorageHosts;
  /** The default backup schedule (a CronJob schedule, UTC). */
  schedule: string;
  retention: Retention;
}

/** The secrets that open every repository (shared exports them as secrets). */
export interface BackupSecrets {
  /** The rclone config file's content. */
  rcloneConfig: pulumi.Output<string>;
  /** The restic repositories' password: the same on every stack, or no other cluster can restore. */
  resticPassword: pulumi.Output<string>;
}

/**
 * What an app's backup jobs are made with: the stack's settings (read from `shared` by the
 * projects, so they may still be outputs), with the app's own schedule and retention if it has
 * them, and the secrets.
 */
export interface BackupConfig extends BackupSecrets {
  remote: pulumi.Input<string>;
  storage: pulumi.Input<StorageHosts>;
  schedule: pulumi.Input<string>;
  retention: pulumi.Input<Retention>;
}

const remoteExpected =
  "expected <remote>:<bucket>[/<path>] naming a remote of backup:rcloneConfig, such as storage:homelab-backups";
const remote = z
  .string({ error: remoteExpected })
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.+@ -]*:[A-Za-z0-9._-][A-Za-z0-9._/-]*$/, { error: remoteExpected })
  .refine((value) => !value.endsWith("/") && !value.includes("//") && !value.split("/").includes(".."), {
    error: remoteExpected,
  });

const cronExpected = "expected a CronJob schedule such as 30 3 * * * (UTC)";
const schedule = z.string({ error: cronExpected }).refine(
  (value) => {
    try {
      CronExpressionParser.parse(value);
      return value.trim().split(/\s+/).length === 5 || value.startsWith("@");
    } catch {
      return false;
    }
  },
  { error: cronExpected },
);

const keep = z.number().int().min(0);
const defaultRetention: Retention = { daily: 7, weekly: 4, monthly: 6 };

const schemas = {
  remote,
  storageHosts: z.array(externalHost).min(1, { error: "list at least one storage host" }),
  storagePorts: z.array(port).min(1).default([443]),
  schedule: schedule.default("30 3 * * *"),
  retention: z
    .strictObject({
      daily: keep.default(defaultRetention.daily),
      weekly: keep.default(defaultRetention.weekly),
      monthly: keep.default(defaultRetention.monthly),
    })
    .default(defaultRetention),
};

function stackFile(): string {
  return `Pulumi.${pulumi.getStack()}.yaml of project "${pulumi.getProject()}"`;
}

function read<S extends z.ZodType>(key: string, schema: S): z.output<S> {
  const raw = new pulumi.Config(backupConfigNamespace).get(key);
  let value: unknown = raw;
  if (raw !== undefined) {
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .map(
      (issue) =>
        `  ${[`${backupConfigNamespace}:${key}`, ...issue.path.map(String)].join(".")}: ${issue.message}`,
    )
    .join("\n");
  throw new ConfigError(
    `${raw === undefined ? "Missing" : "Invalid"} config "${backupConfigNamespace}:${key}" for stack ` +
      `"${pulumi.getStack()}" (${stackFile()}):\n${issues}`,
  );
}

// The SDK knows which keys the CLI decrypted but only exports that check untyped.
const { isConfigSecret } = pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean };

function readSecret(key: string): pulumi.Output<string> {
  const fullKey = `${backupConfigNamespace}:${key}`;
  const config = new pulumi.Config(backupConfigNamespace);
  const set = `Set it with: pulumi config set --secret ${fullKey} <value> --stack ${pulumi.getStack()}`;
  if (config.get(key) === undefined) {
    throw new ConfigError(
      `Missing secret config "${fullKey}" for stack "${pulumi.getStack()}" (${stackFile()}). ${set}`,
    );
  }
  if (!isConfigSecret(fullKey)) {
    throw new ConfigError(
      `Config "${fullKey}" of stack "${pulumi.getStack()}" is stored in plain text; it must be a secret. ${set}`,
    );
  }
  return config.requireSecret(key);
}

/** Turns `backup:storageHosts` entries into the peers of the storage policy. */
export function storageHosts(hosts: readonly string[], ports: readonly number[]): StorageHosts {
  return { ...classifyHosts(hosts), ports: [...ports] };
}

/**
 * Reads the stack's backup settings from the `backup:` config namespace (in the `shared`
 * project's stack file, once per stack): `remote`, `storageHosts`, optional `storagePorts` (443),
 * `schedule` (`30 3 * * *`) and `retention` (7 daily, 4 weekly, 6 monthly), and the secrets
 * `rcloneConfig` and `resticPassword`. A missing or bad value fails with the key, the stack and
 * what is expected.
 */
export function readBackupConfig(): BackupSettings & BackupSecrets {
  return {
    remote: read("remote", schemas.remote),
    storage: storageHosts(
      read("storageHosts", schemas.storageHosts),
      read("storagePorts", schemas.storagePorts),
    ),
    schedule: read("schedule", schemas.schedule),
    retention: read("retention", schemas.retention),
    rcloneConfig: readSecret("rcloneConfig"),
    resticPassword: readSecret("resticPassword"),
  };
}

/** What a stateful project may set for its own backups (`<project>:backup`); the stack's otherwise. */
export interface BackupOverrides {
  schedule?: string;
  retention?: Partial<Retention>;
}

/** `<project>:backup`: the project's own schedule and retention; unknown keys are refused. */
export const backupOverridesConfig = z
  .strictObject({
    schedule: schedule.optional(),
    retention: z
      .strictObject({ daily: keep.optional(), weekly: keep.optional(), monthly: keep.optional() })
      .optional(),
  })
  .default({});

/** Reads the project's `<project>:backup` overrides (schedule and retention), failing on a bad or unknown key. */
export function readBackupOverrides(): BackupOverrides {
  return readConfig("backup", backupOverridesConfig);
}

/** The stack's backup config with a project's own schedule and retention in place of the stack's. */
export function withBackupOverrides(config: BackupConfig, overrides: BackupOverrides): BackupConfig {
  const retention = overrides.retention;
  return {
    ...config,
    schedule: overrides.schedule ?? config.schedule,
    retention: retention
      ? pulumi.output(config.retention).apply((stack) => ({ ...stack, ...retention }))
      : config.retention,
  };
}
