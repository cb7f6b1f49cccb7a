import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

/** The repository's root (this file is in pulumi/packages/core/src). */
export const repositoryRoot = resolve(__dirname, "..", "..", "..", "..");

/** Where the placement is kept, from the repository's root. */
export const placementPath = "pulumi/placement.yaml";

/**
 * The steps of a migration, in order (`task migrate`); a migration records the last one done, and
 * a rerun continues with the next.
 */
export const migrationSteps = [
  "preflight",
  "stop",
  "final-backup",
  "verify",
  "restore",
  "dns",
  "remove-source",
] as const;
export type MigrationStep = (typeof migrationSteps)[number];

const serverName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: "expected a server (stack) name, a DNS label" });

const migrationSchema = z
  .strictObject({
    /** The server the app moves to. */
    to: serverName,
    /** The last step done. */
    done: z.enum(migrationSteps),
    /** The verified final snapshot the target restores (set by the final-backup step). */
    snapshot: z
      .string()
      .regex(/^[0-9a-f]{64}$/, { error: "expected a full restic snapshot id (64 hex digits)" })
      .optional(),
    /** Which server's stack holds the app's DNS records: exactly one at any moment, or none. */
    dns: z.enum(["source", "none", "target"]),
    /** The operator took the hold from another server on purpose (`--force-hold`). */
    forceHold: z.boolean().optional(),
    /** `task migrate:rollback` is returning the app to the source: the target renders nothing. */
    rollingBack: z.boolean().optional(),
    /** When the migration started (UTC, ISO 8601). */
    started: z.string(),
  })
  .refine(
    (migration) => migration.snapshot !== undefined || stepIndex(migration.done) < stepIndex("verify"),
    {
      error: "a migration past its final backup names the snapshot it restores",
    },
  );

export type Migration = z.output<typeof migrationSchema>;

const entrySchema = z.union([
  serverName.transform((server) => ({ server })),
  z.strictObject({ server: serverName, migration: migrationSchema.optional() }),
]);

const placementSchema = z.strictObject({ apps: z.record(serverName, entrySchema) });

/** Where an app runs, and the migration moving it, if one is under way. */
export interface AppPlacement {
  server: string;
  migration?: Migration;
}

/** Which server runs each app, by app. */
export type Placement = Record<string, AppPlacement>;

export function stepIndex(step: MigrationStep): number {
  return migrationSteps.indexOf(step);
}

/** Parses the placement file's text; `file` names it in errors. */
export function parsePlacement(text: string, file: string): Placement {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = placementSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `  ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new Error(`${file} is not a placement:\n${issues.join("\n")}`);
  }
  const placement: Placement = {};
  for (const [app, entry] of Object.entries(result.data.apps)) {
    const migration = "migration" in entry ? entry.migration : undefined;
    if (migration?.to === entry.server) throw new Error(`${file}: apps.${app} migrates to its own server`);
    placement[app] = { server: entry.server, ...(migration ? { migration } : {}) };
  }
  return placement;
}

/** Reads the repository's placement (`pulumi/placement.yaml`, or `file`). */
export function readPlacement(file = join(repositoryRoot, placementPath)): Placement {
  return parsePlacement(readFileSync(file, "utf8"), file);
}

/** What an app's project renders on one stack. */
export type AppOnStack =
  | { runs: false }
  | {
      runs: true;
      /** Its workloads run no pod: the source of a migration, stopped so that nothing writes. */
      stopped: boolean;
      /** Whether this stack holds the app's DNS records. */
      dnsRecords: boolean;
      /** The snapshot its restore takes (a migration's target), and whether it takes the hold by force. */
      restore?: { snapshot: string; forceHold: boolean };
    };

/**
 * What an app renders on `stack`: everything on its server; nothing elsewhere; while it migrates,
 * on the source its stopped workloads until the DNS records moved (then nothing: the source is
 * removed), and on the target, once the final snapshot is verified and unless the migration is
 * rolled back, the app restoring exactly that snapshot. The DNS records are on the one side the
 * migration says, so that two records of one name never exist.
 */
export function appOnStack(placement: Placement, app: string, stack: string): AppOnStack {
  const entry = placement[app];
  if (!entry) {
    throw new Error(
      `App "${app}" has no server in ${placementPath}: add "${app}: <server>" under apps to say where it runs`,
    );
  }
  const { migration } = entry;
  if (!migration)
    return entry.server === stack ? { runs: true, stopped: false, dnsRecords: true } : { runs: false };
  if (entry.server === stack) {
    return stepIndex(migration.done) < stepIndex("dns")
      ? { runs: true, stopped: true, dnsRecords: migration.dns === "source" }
      : { runs: false };
  }
  const verified = stepIndex(migration.done) >= stepIndex("verify");
  if (migration.to === stack && migration.snapshot && verified && !migration.rollingBack) {
    return {
      runs: true,
      stopped: false,
      dnsRecords: migration.dns === "target",
      restore: { snapshot: migration.snapshot, forceHold: migration.forceHold ?? false },
    };
  }
  return { runs: false };
}
