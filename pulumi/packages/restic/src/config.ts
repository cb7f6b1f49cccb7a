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
  /**
   * Whether the jobs' storage credentials cannot delete history (an append-only server, or a key
   * without the right to delete old versions): the jobs then never forget or prune, and
   * retention runs from the operator's machine (`task backup:prune`).
   * @default true
   */
  appendOnly: boolean;
}

/**
 * What opens one repository, kept with what it opens rather than per stack (sops:
 * `secrets/apps/<app>.yaml`, `secrets/backups/<name>.yaml`), so that every server the data may
 * move to, and a recovery with no Pulumi state at all, can read it.
 */
export interface BackupCredentials {
  /** The repository's own restic password. */
  resticPassword: pulumi.Output<string>;
  /** The rclone config of the jobs: a key limited to the repository's prefix. */
  rcloneConfig: pulumi.Output<string>;
  /** Where both are kept, from the repository's root (the operator's tasks read the password there). */
  secretsFile: string;
}

/**
 * What an app's backup jobs are made with: the stack's settings (read from `shared` by the
 * projects, so they may still be outputs), with the app's own schedule and retention if it has
 * them, and the repository's credentials.
 */
export interface BackupConfig extends BackupCredentials {
  remote: pulumi.Input<string>;
  storage: pulumi.Input<StorageHosts>;
  schedule: pulumi.Input<string>;
  retention: pulumi.Input<Retention>;
  appendOnly: pulumi.Input<boolean>;
}

const remoteExpected =
  "expected <remote>:<bucket>[/<path>] naming a remote of the repositories' rclone configs, such as storage:homelab-backups";
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
/** The retention of an app that sets none, and of a stack that sets none (the scripts' defaults too). */
export const defaultRetention: Retention = { daily: 7, weekly: 4, monthly: 6 };

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
  appendOnly: z.boolean({ error: "expected true or false" }).default(true),
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

/** Keys the stack once set here, and where their values live now. */
const movedKeys: Record<string, string> = {
  rcloneConfig:
    "each repository has its own storage key, in rcloneConfig of its secrets file (secrets/apps/<app>.yaml, " +
    "secrets/backups/<name>.yaml); the operator's full-access credentials are in secrets/shared/env.yaml",
  resticPassword:
    "each repository has its own password, resticPassword of its secrets file (secrets/apps/<app>.yaml, " +
    "secrets/backups/<name>.yaml)",
};

function refuseMovedKeys(): void {
  const config = new pulumi.Config(backupConfigNamespace);
  for (const [key, where] of Object.entries(movedKeys)) {
    if (config.get(key) === undefined) continue;
    throw new ConfigError(
      `Config "${backupConfigNamespace}:${key}" of stack "${pulumi.getStack()}" (${stackFile()}) is no longer ` +
        `read: ${where}. Remove it (pulumi config rm ${backupConfigNamespace}:${key} --stack ${pulumi.getStack()}); ` +
        "pulumi/packages/restic/README.md says how to move an existing repository's password.",
    );
  }
}

/** Turns `backup:storageHosts` entries into the peers of the storage policy. */
export function storageHosts(hosts: readonly string[], ports: readonly number[]): StorageHosts {
  return { ...classifyHosts(hosts), ports: [...ports] };
}

/**
 * Reads the stack's backup settings from the `backup:` config namespace (in the `shared`
 * project's stack file, once per stack): `remote`, `storageHosts`, optional `storagePorts` (443),
 * `schedule` (`30 3 * * *`), `retention` (7 daily, 4 weekly, 6 monthly) and `appendOnly` (true).
 * No secret: each repository's credentials are kept with it. A missing or bad value fails with
 * the key, the stack and what is expected.
 */
export function readBackupSettings(): BackupSettings {
  refuseMovedKeys();
  return {
    remote: read("remote", schemas.remote),
    storage: storageHosts(
      read("storageHosts", schemas.storageHosts),
      read("storagePorts", schemas.storagePorts),
    ),
    schedule: read("schedule", schemas.schedule),
    retention: read("retention", schemas.retention),
    appendOnly: read("appendOnly", schemas.appendOnly),
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
