import { classifyHosts, type ExternalHosts } from "@infra/cilium";
import {
  ConfigError,
  describeUnknownKey,
  externalHost,
  parseConfigText,
  port,
  readConfig,
  unknownKeys,
} from "@infra/core";
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

/** What the jobs report their outcome to (`backup:notify`): ntfy, healthchecks or a webhook. */
export type NotifyKind = "ntfy" | "healthchecks" | "webhook";
export const notifyKinds: readonly NotifyKind[] = ["ntfy", "healthchecks", "webhook"];

/**
 * The stack's notification target as `shared` exports it in plain text: its kind and the hosts the
 * jobs reach it at (on 443), the target's and the heartbeat's. The URLs may hold a token or a ping
 * key: they are exported apart, as a secret (`NotifyUrls`).
 */
export interface NotifyTarget {
  kind: NotifyKind;
  hosts: string[];
}

/** The target's URL and the optional heartbeat (a healthchecks ping base), secret. */
export interface NotifyUrls {
  url?: string;
  heartbeat?: string;
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
  /**
   * When every app's restore drill runs (`backup:drillSchedule`, a CronJob schedule, UTC): weekly by
   * default, after the nightly backups (scripts/README.md, "Restore drills").
   * @default "0 5 * * 0"
   */
  drillSchedule: string;
  retention: Retention;
  /**
   * Whether the jobs' storage credentials cannot delete history (an append-only server, or a key
   * without the right to delete old versions): the jobs then never forget or prune, and
   * retention runs from the operator's machine (`task backup:prune`).
   * @default true
   */
  appendOnly: boolean;
  /** Where the jobs report their outcome (`backup:notify`); none when the stack sets none. */
  notify?: NotifyTarget;
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
  /** When the restore drills run; `defaultDrillSchedule` when omitted. */
  drillSchedule?: pulumi.Input<string>;
  retention: pulumi.Input<Retention>;
  appendOnly: pulumi.Input<boolean>;
  /**
   * Where the jobs report their outcome (none when it resolves to undefined), and its URLs (a
   * secret). Without `notify` the jobs have no notification settings at all.
   */
  notify?: pulumi.Input<NotifyTarget | undefined>;
  notifyUrls?: pulumi.Input<NotifyUrls>;
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

const notifyUrlExpected = "expected an https URL without a port (the jobs reach it on 443)";
function httpsUrl(options: { query: boolean }) {
  return z.string({ error: notifyUrlExpected }).refine(
    (value) => {
      try {
        const url = new URL(value);
        return (
          url.protocol === "https:" &&
          url.port === "" &&
          url.hostname !== "" &&
          url.hash === "" &&
          (options.query || url.search === "")
        );
      } catch {
        return false;
      }
    },
    { error: `${notifyUrlExpected}${options.query ? "" : ", without a query"}` },
  );
}

/**
 * `backup:notify`: `kind` ntfy (`url` the topic's, https://ntfy.sh/<topic>; a token as the URL's
 * password, https://:<token>@ntfy.example/<topic>), healthchecks (`url` the project's ping base
 * with its ping key, https://hc-ping.com/<ping-key>: each job is the check `<identity>-<job>`) or
 * webhook (`url` receives the outcome as JSON); `heartbeat`, a healthchecks ping base, pinged by
 * the scheduled jobs that succeed (a dead man's switch beside ntfy or a webhook).
 */
export const notifyConfig = z
  .strictObject({
    kind: z.enum(["ntfy", "healthchecks", "webhook"], { error: "expected ntfy, healthchecks or webhook" }),
    url: httpsUrl({ query: true }),
    heartbeat: httpsUrl({ query: false }).optional(),
  })
  .superRefine((value, context) => {
    const url = new URL(value.url);
    if (value.kind !== "webhook" && url.search !== "") {
      context.addIssue({ code: "custom", path: ["url"], message: `a ${value.kind} URL takes no query` });
    }
    if (value.kind === "ntfy" && !/^\/(.*\/)?[A-Za-z0-9_-]+$/.test(url.pathname)) {
      context.addIssue({
        code: "custom",
        path: ["url"],
        message: "expected the topic's URL, https://ntfy.sh/<topic>",
      });
    }
    if (value.kind === "healthchecks" && (url.pathname === "/" || url.pathname.endsWith("/"))) {
      context.addIssue({
        code: "custom",
        path: ["url"],
        message: "expected the ping base with the project's ping key, https://hc-ping.com/<ping-key>",
      });
    }
    if (value.kind === "healthchecks" && value.heartbeat !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["heartbeat"],
        message: "a healthchecks target is its own heartbeat: leave heartbeat out",
      });
    }
  })
  .optional();

export type NotifyConfig = NonNullable<z.output<typeof notifyConfig>>;

/** The plain part of a notify setting: its kind and the hosts of its URLs. */
export function notifyTarget(config: NotifyConfig): NotifyTarget {
  const hosts = [config.url, ...(config.heartbeat ? [config.heartbeat] : [])].map(
    (url) => new URL(url).hostname,
  );
  return { kind: config.kind, hosts: [...new Set(hosts)] };
}

const keep = z.number().int().min(0);
/** The retention of an app that sets none, and of a stack that sets none (the scripts' defaults too). */
export const defaultRetention: Retention = { daily: 7, weekly: 4, monthly: 6 };

/** The restore drills' schedule of a stack that sets none: Sundays at 05:00 UTC, after the nightly backups. */
export const defaultDrillSchedule = "0 5 * * 0";

const schemas = {
  remote,
  storageHosts: z.array(externalHost).min(1, { error: "list at least one storage host" }),
  storagePorts: z.array(port).min(1).default([443]),
  schedule: schedule.default("30 3 * * *"),
  drillSchedule: schedule.default(defaultDrillSchedule),
  retention: z
    .strictObject({
      daily: keep.default(defaultRetention.daily),
      weekly: keep.default(defaultRetention.weekly),
      monthly: keep.default(defaultRetention.monthly),
    })
    .default(defaultRetention),
  appendOnly: z.boolean({ error: "expected true or false" }).default(true),
  notify: notifyConfig,
};

function stackFile(): string {
  return `Pulumi.${pulumi.getStack()}.yaml of project "${pulumi.getProject()}"`;
}

function read<S extends z.ZodType>(key: string, schema: S, siteValue?: unknown): z.output<S> {
  const raw = new pulumi.Config(backupConfigNamespace).get(key);
  const value = raw === undefined ? siteValue : parseConfigText(raw);
  // Where the value came from, which a message names: the stack's file, or the site's default.
  const source = raw === undefined && siteValue !== undefined ? "servers/site.json backup" : stackFile();
  const unknown = unknownKeys(schema, value);
  if (unknown.length > 0) {
    throw new ConfigError(
      `Invalid config "${backupConfigNamespace}:${key}" for stack "${pulumi.getStack()}" (${source}):\n` +
        unknown
          .map((entry) => `  ${describeUnknownKey(`${backupConfigNamespace}:${key}.`, entry)}`)
          .join("\n"),
    );
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
    `${value === undefined ? "Missing" : "Invalid"} config "${backupConfigNamespace}:${key}" for stack ` +
      `"${pulumi.getStack()}" (${source}):\n${issues}`,
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

/** The backup target every server shares (servers/site.json `backup`), which a stack's `backup:*` overrides. */
export interface SiteBackup {
  remote?: string;
  storageHosts?: string[];
}

/**
 * Reads the stack's backup settings from the `backup:` config namespace (in the `shared`
 * project's stack file, once per stack; `remote` and `storageHosts` default to the site's): `remote`, `storageHosts`, optional `storagePorts` (443),
 * `schedule` (`30 3 * * *`), `drillSchedule` (`0 5 * * 0`), `retention` (7 daily, 4 weekly, 6 monthly), `appendOnly` (true)
 * and the optional `notify` (its kind and hosts only: the URLs are `readBackupNotifyUrls`'). No
 * secret: each repository's credentials are kept with it. A missing or bad value fails with the
 * key, the stack and what is expected.
 */
export function readBackupSettings(site: SiteBackup = {}): BackupSettings {
  refuseMovedKeys();
  const notify = read("notify", schemas.notify);
  return {
    remote: read("remote", schemas.remote, site.remote),
    storage: storageHosts(
      read("storageHosts", schemas.storageHosts, site.storageHosts),
      read("storagePorts", schemas.storagePorts),
    ),
    schedule: read("schedule", schemas.schedule),
    drillSchedule: read("drillSchedule", schemas.drillSchedule),
    retention: read("retention", schemas.retention),
    appendOnly: read("appendOnly", schemas.appendOnly),
    ...(notify ? { notify: notifyTarget(notify) } : {}),
  };
}

/**
 * The URLs of `backup:notify` (empty without it), always a secret: they may hold a token or a ping
 * key, whether or not the stack stores the setting as one (`pulumi config set --secret`).
 */
export function readBackupNotifyUrls(): pulumi.Output<NotifyUrls> {
  const notify = read("notify", schemas.notify);
  return pulumi.secret(
    notify ? { url: notify.url, ...(notify.heartbeat ? { heartbeat: notify.heartbeat } : {}) } : {},
  );
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
