import { ConfigError, domainName, ipv4, ipv4Cidr, port } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";

/** The config namespace every stateful project reads its backup settings from (`backup:<key>`). */
export const backupConfigNamespace = "backup";

/** How many daily, weekly and monthly snapshots an app keeps (`0` turns a rule off). */
export interface Retention {
  daily: number;
  weekly: number;
  monthly: number;
}

/** The hosts the backup jobs may reach: the storage behind the rclone remote. */
export interface StorageHosts {
  fqdns: string[];
  /** `*.example.com` patterns. */
  fqdnPatterns: string[];
  /** IPv4 ranges (an address is a /32). */
  cidrs: string[];
  ports: number[];
}

/** A stack's backup settings (`backup:*` config). */
export interface BackupConfig {
  /**
   * `<remote>:<bucket>[/<path>]` of the rclone config: each app's repository is
   * `rclone:<remote>:<bucket>[/<path>]/<app>`, the same on every cluster.
   */
  remote: string;
  storage: StorageHosts;
  /** The default backup schedule (a CronJob schedule, UTC). */
  schedule: string;
  retention: Retention;
  /** The rclone config file's content (a secret). */
  rcloneConfig: pulumi.Output<string>;
  /** The restic repositories' password (a secret): the same on every stack, or no other cluster can restore. */
  resticPassword: pulumi.Output<string>;
}

const remoteExpected =
  "expected <remote>:<bucket>[/<path>] naming a remote of backup:rcloneConfig, such as storage:homelab-backups";
const remote = z
  .string({ error: remoteExpected })
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.+@ -]*:[A-Za-z0-9._-][A-Za-z0-9._/-]*$/, { error: remoteExpected })
  .refine((value) => !value.endsWith("/") && !value.includes("//") && !value.split("/").includes(".."), {
    error: remoteExpected,
  });

const hostExpected =
  "expected a DNS name (storage.example.com), a pattern (*.example.com), an IPv4 address or an IPv4 CIDR";
const storageHost = z
  .string({ error: hostExpected })
  .refine(
    (value) =>
      domainName.safeParse(value.replace(/^\*\./, "")).success ||
      ipv4.safeParse(value).success ||
      ipv4Cidr.safeParse(value).success,
    { error: hostExpected },
  );

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

const schemas = {
  remote,
  storageHosts: z.array(storageHost).min(1, { error: "list at least one storage host" }),
  storagePorts: z.array(port).min(1).default([443]),
  schedule: schedule.default("30 3 * * *"),
  retention: z
    .object({ daily: keep.default(7), weekly: keep.default(4), monthly: keep.default(6) })
    .default({ daily: 7, weekly: 4, monthly: 6 }),
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
  const isAddress = (host: string) => ipv4.safeParse(host).success || ipv4Cidr.safeParse(host).success;
  return {
    fqdns: hosts.filter((host) => !isAddress(host) && !host.startsWith("*.")),
    fqdnPatterns: hosts.filter((host) => host.startsWith("*.")),
    cidrs: hosts.filter(isAddress).map((host) => (host.includes("/") ? host : `${host}/32`)),
    ports: [...ports],
  };
}

/**
 * Reads the stack's backup settings from the `backup:` config namespace (the same keys in every
 * stateful project): `remote`, `storageHosts`, optional `storagePorts` (443), `schedule`
 * (`30 3 * * *`) and `retention` (7 daily, 4 weekly, 6 monthly), and the secrets `rcloneConfig`
 * and `resticPassword`. A missing or bad value fails with the key, the stack and what is expected.
 */
export function readBackupConfig(): BackupConfig {
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
