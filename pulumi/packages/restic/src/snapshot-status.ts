import { CronExpressionParser } from "cron-parser";

/** One snapshot as the backup scripts make them: the host is the app's name. */
export interface Snapshot {
  id: string;
  shortId: string;
  time: Date;
  app: string;
  tags: string[];
  paths: string[];
}

export interface AppSchedule {
  app: string;
  /** The backup CronJob's schedule (five fields or a macro such as @daily). */
  schedule: string;
}

export interface BackupStatus {
  app: string;
  schedule: string;
  latest?: Snapshot;
  /** The second-to-last scheduled run before now: a newer snapshot must exist. */
  deadline: Date;
  stale: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseSnapshot(value: unknown, index: number): Snapshot {
  const where = `snapshot #${index + 1}`;
  if (!isRecord(value)) throw new Error(`${where} is not an object`);
  const { id, time, hostname } = value;
  if (typeof id !== "string" || id === "") throw new Error(`${where} has no id`);
  if (typeof hostname !== "string") throw new Error(`snapshot ${id} has no hostname`);
  const parsedTime = typeof time === "string" ? new Date(time) : undefined;
  if (!parsedTime || Number.isNaN(parsedTime.getTime())) throw new Error(`snapshot ${id} has no valid time`);
  const strings = (field: unknown) =>
    Array.isArray(field) ? field.filter((v) => typeof v === "string") : [];
  return {
    id,
    // short_id is deprecated in newer restic; it has always been the id's first 8 characters.
    shortId: typeof value.short_id === "string" ? value.short_id : id.slice(0, 8),
    time: parsedTime,
    app: hostname,
    tags: strings(value.tags),
    paths: strings(value.paths),
  };
}

/**
 * Parses `restic snapshots --json` output: a list of snapshots (restic 0.14 and newer, whose extra
 * fields such as `summary` and `program_version` are ignored) or, with `--group-by`, a list of
 * `{ group_key, snapshots }` groups.
 */
export function parseSnapshots(json: string): Snapshot[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`restic snapshots output is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new Error("restic snapshots output is not a JSON array");
  const flat = parsed.flatMap((item: unknown) =>
    isRecord(item) && "group_key" in item && Array.isArray(item.snapshots) ? item.snapshots : [item],
  );
  return flat.map(parseSnapshot);
}

/** The newest snapshot of each app. */
export function latestSnapshotPerApp(snapshots: readonly Snapshot[]): Map<string, Snapshot> {
  const latest = new Map<string, Snapshot>();
  for (const snapshot of snapshots) {
    const current = latest.get(snapshot.app);
    if (!current || snapshot.time > current.time) latest.set(snapshot.app, snapshot);
  }
  return latest;
}

/**
 * The second-to-last run of `schedule` at or before `now`. One missed run is tolerated (the latest
 * may still be running or be retried); two are not.
 */
export function staleDeadline(schedule: string, now: Date, timeZone = "UTC"): Date {
  // prev() is strictly before its start; starting a millisecond later counts a run due right now.
  const expression = CronExpressionParser.parse(schedule, {
    currentDate: new Date(now.getTime() + 1),
    tz: timeZone,
  });
  expression.prev();
  return expression.prev().toDate();
}

/**
 * The staleness rule: an app is stale when it has no snapshot at all, or none since the
 * second-to-last scheduled run before now. Apps come from `apps`, plus every app in the repository
 * when a `defaultSchedule` is given for those not listed. Sorted by app.
 */
export function backupStatuses(
  snapshots: readonly Snapshot[],
  options: { apps?: readonly AppSchedule[]; defaultSchedule?: string; now?: Date; timeZone?: string },
): BackupStatus[] {
  const now = options.now ?? new Date();
  const latest = latestSnapshotPerApp(snapshots);
  const schedules = new Map<string, string>();
  if (options.defaultSchedule) {
    for (const app of latest.keys()) schedules.set(app, options.defaultSchedule);
  }
  for (const { app, schedule } of options.apps ?? []) schedules.set(app, schedule);
  return [...schedules.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([app, schedule]) => {
      const deadline = staleDeadline(schedule, now, options.timeZone);
      const snapshot = latest.get(app);
      return { app, schedule, latest: snapshot, deadline, stale: !snapshot || snapshot.time < deadline };
    });
}

/** "3d 4h", "2h 5m", "42s": the two largest units. */
export function formatAge(ms: number): string {
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, ms);
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${name}`);
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(" ").replace(/ 0[a-z]$/, "") : "0s";
}

/** A plain-text table: app, latest snapshot time (UTC), its age, schedule, STALE/ok. */
export function formatStatusTable(statuses: readonly BackupStatus[], now: Date): string {
  const rows = [
    ["APP", "LATEST SNAPSHOT (UTC)", "AGE", "SCHEDULE", "STATUS"],
    ...statuses.map((s) => [
      s.app,
      s.latest ? s.latest.time.toISOString().replace(/\.\d+Z$/, "Z") : "none",
      s.latest ? formatAge(now.getTime() - s.latest.time.getTime()) : "-",
      s.schedule,
      s.stale ? "STALE" : "ok",
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export interface SnapshotStatusReport {
  statuses: BackupStatus[];
  table: string;
  anyStale: boolean;
}

/**
 * What the operator task calls: the output of `restic snapshots --json` (one text per repository)
 * in, the verdict and its table out.
 */
export function snapshotStatusReport(
  json: string | readonly string[],
  options: { apps?: readonly AppSchedule[]; defaultSchedule?: string; now?: Date; timeZone?: string },
): SnapshotStatusReport {
  const now = options.now ?? new Date();
  const snapshots = (typeof json === "string" ? [json] : json).flatMap(parseSnapshots);
  const statuses = backupStatuses(snapshots, { ...options, now });
  return { statuses, table: formatStatusTable(statuses, now), anyStale: statuses.some((s) => s.stale) };
}
