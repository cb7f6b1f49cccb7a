import { type Migration, type MigrationStep, migrationSteps, stepIndex } from "@infra/core";
import { privateNamesProject, privateNamesReaders } from "@projects/common/src/private-names";
import type { AppBackups, Cluster } from "./cluster";
import type { PlacementFile } from "./placement-file";

export interface MigrationContext {
  placement: PlacementFile;
  cluster: Cluster;
  /** Progress, one line a step or check. */
  log: (line: string) => void;
  now?: () => Date;
}

/** A migration stopped on purpose: the message says where it stands and what to do. */
export class MigrationStopped extends Error {
  override name = "MigrationStopped";
}

/**
 * The layers whose Traefik serves an app's namespace only while the app runs on their stack
 * (`namespacesRunningHere`): deployed after the app arrives, and before it leaves, since Traefik
 * must never watch a namespace where the app's Role is missing.
 */
const gatewayProjects = ["internal-gateway", "public-gateway"];

/** Room a restore needs beyond the snapshot's size (the database's load, the filesystem's own). */
const restoreHeadroom = 1.2;

const stepTitles: Record<MigrationStep, string> = {
  preflight: "preflight: the target's layers, the repository, the app's secrets, free space",
  stop: "stop the app on the source and wait until none of its pods runs",
  "final-backup": "final backup of the stopped app on the source",
  verify: "verify the final snapshot (repository check, its listing holds the data, nothing newer)",
  restore: "bring the app up on the target from exactly the final snapshot, and wait until it is healthy",
  dns: "move the DNS records from the source to the target, one at a time",
  "remove-source": "remove the app from the source",
};

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

interface Run {
  app: string;
  source: string;
  ctx: MigrationContext;
}

function current(run: Run): Migration {
  const migration = run.ctx.placement.entry(run.app).migration;
  if (!migration) throw new Error(`${run.app} has no migration under way`);
  return migration;
}

function record(run: Run, change: Partial<Migration>): Migration {
  const migration = { ...current(run), ...change };
  run.ctx.placement.write(run.app, run.source, migration);
  return migration;
}

/** The app's backups as the stack that runs it now exports them. */
async function backupsOn(run: Run, stack: string): Promise<AppBackups> {
  const backups = await run.ctx.cluster.backups(stack, run.app);
  if (!backups) {
    throw new MigrationStopped(
      `${run.app} exports no backups on ${stack}: is it deployed there? (pulumi stack output backups --stack ${stack})`,
    );
  }
  return backups;
}

async function requireRoom(run: Run, stack: string, backups: AppBackups, snapshot: string): Promise<void> {
  const size = await backups.repository.restoreSize(snapshot);
  const free = await run.ctx.cluster.freeBytes(stack);
  if (size * restoreHeadroom > free) {
    throw new MigrationStopped(
      `${stack} has ${gib(free)} free, and restoring ${run.app} (snapshot ${snapshot.slice(0, 8)}, ${gib(size)}) ` +
        `needs about ${gib(size * restoreHeadroom)}: free space there first`,
    );
  }
  run.ctx.log(`  ${stack} has ${gib(free)} free for ${gib(size)} of ${run.app}`);
}

async function preflight(run: Run, to: string, forceHold: boolean): Promise<void> {
  const { cluster, log } = run.ctx;
  const layers = (await cluster.layersOf(run.app, to)).filter((project) => project !== run.app);
  const deployed = new Set(await cluster.deployed(to));
  const missing = layers.filter((layer) => !deployed.has(layer));
  if (missing.length > 0) {
    throw new MigrationStopped(
      `${to} lacks what ${run.app} needs: ${missing.join(", ")}. Deploy them first ` +
        `(${missing.map((project) => `task up PROJECT=${project} STACK=${to}`).join("; ")}), or task migrate:all`,
    );
  }
  log(`  ${to} has ${layers.join(", ")}`);
  const backups = await backupsOn(run, run.source);
  // Its objects are in the source's object store, whose backups belong to that server: a move
  // would start the app on the target without them.
  if (backups.buckets && backups.buckets.length > 0) {
    throw new MigrationStopped(
      `${run.app} keeps objects in ${run.source}'s object store (buckets ${backups.buckets.join(", ")}), which ` +
        `task migrate does not move: nothing was changed (docs/migration.md, "Apps with buckets")`,
    );
  }
  await backups.repository.open();
  const hold = await backups.repository.hold();
  if (hold && hold.server !== run.source && !forceHold) {
    throw new MigrationStopped(
      `${run.app}'s repository says ${hold.server} holds it (since snapshot ${hold.since.slice(0, 8)}), not ${run.source}: ` +
        `find out which server runs it; --force-hold moves it anyway, giving up what ${hold.server} wrote since`,
    );
  }
  log(
    `  the repository opens with ${run.app}'s password; ${hold ? `held by ${hold.server}` : "no hold recorded yet"}`,
  );
  const running = await cluster.clusterSecretsFingerprint(run.source, run.app);
  const file = await cluster.fileSecretsFingerprint(run.app);
  if (running !== file) {
    throw new MigrationStopped(
      `${run.app} runs on ${run.source} with other stable secrets than secrets/apps/${run.app}.yaml gives, which ` +
        `${to} would use (fingerprints ${running?.slice(0, 12) ?? "none"} and ${file?.slice(0, 12) ?? "none"}): its ` +
        "data would not open there. Deploy the app on the source with the file's secrets first, or fix the file",
    );
  }
  log(
    `  the target will run with the same stable secrets (fingerprint ${file?.slice(0, 12) ?? "none: the app has none"})`,
  );
  const latest = (await backups.repository.snapshots()).at(-1);
  if (latest) await requireRoom(run, to, backups, latest.id);
  else log(`  no snapshot yet: the room for the final snapshot is checked before the restore`);
}

/** Deploys the gateways the app uses on a stack, so that they serve its namespace or stop serving it. */
async function deployGateways(run: Run, stack: string): Promise<void> {
  for (const gateway of (await run.ctx.cluster.layersOf(run.app, stack)).filter((layer) =>
    gatewayProjects.includes(layer),
  )) {
    await run.ctx.cluster.deploy(stack, gateway);
  }
}

async function stop(run: Run): Promise<void> {
  await run.ctx.cluster.deploy(run.source, run.app);
  await run.ctx.cluster.waitStopped(run.source, run.app);
}

async function finalBackup(run: Run): Promise<void> {
  const { repository } = await backupsOn(run, run.source);
  const before = new Set((await repository.snapshots()).map((snapshot) => snapshot.id));
  await run.ctx.cluster.finalBackup(run.source, run.app);
  const taken = (await repository.snapshots()).filter(
    (snapshot) =>
      !before.has(snapshot.id) &&
      snapshot.tags.includes("final") &&
      snapshot.tags.includes(`server:${run.source}`),
  );
  const snapshot = taken.at(-1);
  if (!snapshot) {
    throw new MigrationStopped(
      `the final backup of ${run.app} on ${run.source} finished, but the repository shows no new final snapshot of it: ` +
        `nothing moved; the app is stopped on ${run.source} (task migrate:rollback APP=${run.app} starts it again)`,
    );
  }
  record(run, { snapshot: snapshot.id });
  run.ctx.log(`  final snapshot ${snapshot.id.slice(0, 8)} (${snapshot.time})`);
}

async function verify(run: Run): Promise<void> {
  const snapshot = current(run).snapshot as string;
  const backups = await backupsOn(run, run.source);
  const newest = (await backups.repository.snapshots()).at(-1);
  if (newest?.id !== snapshot) {
    throw new MigrationStopped(
      `snapshot ${newest?.id.slice(0, 8)} of ${run.app} (${newest?.tags.join(", ")}) was taken after the final one ` +
        `(${snapshot.slice(0, 8)}): something backed the app up after it stopped. Nothing moved; find what, then ` +
        `task migrate:rollback APP=${run.app} and migrate again`,
    );
  }
  await backups.repository.check();
  const entries = (await backups.repository.rootEntries(snapshot)).filter((entry) => !entry.startsWith("."));
  const database = backups.database;
  if (entries.length === 0 || (database && !entries.some((entry) => entry.startsWith(`${database.name}.`)))) {
    throw new MigrationStopped(
      `the final snapshot ${snapshot.slice(0, 8)} of ${run.app} holds ${entries.join(", ") || "nothing"}` +
        `${database ? `, not the dump of its ${database.kind} database ${database.name}` : ""}: nothing moved`,
    );
  }
  run.ctx.log(`  snapshot ${snapshot.slice(0, 8)} checked: ${entries.join(", ")}`);
}

async function restore(run: Run, to: string): Promise<void> {
  const snapshot = current(run).snapshot as string;
  const source = await backupsOn(run, run.source);
  await requireRoom(run, to, source, snapshot);
  await run.ctx.cluster.deploy(to, run.app);
  await deployGateways(run, to);
  await run.ctx.cluster.waitHealthy(to, run.app);
  const hold = await source.repository.hold();
  if (hold?.server !== to) {
    throw new MigrationStopped(
      `${run.app} runs on ${to}, but its repository says ${hold?.server ?? "nobody"} holds it: the restore on ${to} ` +
        "did not take the hold. Look at its restore job's log before going on",
    );
  }
}

async function moveDns(run: Run, to: string): Promise<void> {
  // One record of a name at any moment: the source's goes before the target's is created.
  if (current(run).dns === "source") record(run, { dns: "none" });
  if (current(run).dns === "none") {
    await run.ctx.cluster.deploy(run.source, run.app);
    record(run, { dns: "target" });
  }
  await run.ctx.cluster.deploy(to, run.app);
  await refreshPrivateNames(run, [run.source, to]);
}

/**
 * The private names follow the app: each server's list of the names it holds (its `monitoring`
 * stack) is redeployed where they changed, then every server's private DNS and the site's
 * Headscale, which serve every server's list, so the app's private names resolve to the target
 * on every device of the tailnet, with no DNS step by hand. A server that is down keeps serving
 * the old address until its next `task up` (its clients' resolvers ask the other servers too).
 */
async function refreshPrivateNames(run: Run, changed: string[]): Promise<void> {
  const { cluster } = run.ctx;
  for (const stack of changed) {
    if ((await cluster.deployed(stack)).includes(privateNamesProject))
      await cluster.deploy(stack, privateNamesProject);
  }
  for (const stack of await cluster.servers()) {
    const deployed = await cluster.deployed(stack);
    for (const reader of privateNamesReaders.filter((project) => deployed.includes(project))) {
      try {
        await cluster.deploy(stack, reader);
      } catch (error) {
        // The app has moved; a server out of reach catches up later, and the others answer meanwhile.
        run.ctx.log(
          `  ! ${reader} on ${stack} still has the old names (${error instanceof Error ? error.message : String(error)}): ` +
            "run task dns:sync once it is reachable",
        );
      }
    }
  }
}

async function removeSource(run: Run, to: string): Promise<void> {
  const { database } = await backupsOn(run, to);
  await deployGateways(run, run.source);
  // The final backup is taken and restored: the source may not take another (it no longer holds the app).
  await run.ctx.cluster.deploy(run.source, run.app, { skipFinalBackup: true });
  if (database) await run.ctx.cluster.dropDatabase(run.source, database);
  run.ctx.placement.write(run.app, to);
}

/**
 * Moves an app to the server `to`, each step checked before the next and its progress in the
 * placement file: run again after any interruption, it continues with the first step not done.
 */
export async function migrateApp(
  ctx: MigrationContext,
  options: { app: string; to: string; forceHold?: boolean },
): Promise<void> {
  const { app, to } = options;
  const entry = ctx.placement.entry(app);
  const run: Run = { app, source: entry.server, ctx };
  if (entry.migration?.rollingBack) {
    throw new MigrationStopped(
      `${app} is being rolled back to ${entry.server}: finish it with task migrate:rollback APP=${app}`,
    );
  }
  if (entry.migration && entry.migration.to !== to) {
    throw new MigrationStopped(
      `${app} is migrating from ${entry.server} to ${entry.migration.to}: finish that (task migrate APP=${app} ` +
        `TO=${entry.migration.to}) or roll it back (task migrate:rollback APP=${app})`,
    );
  }
  if (!entry.migration && entry.server === to) {
    ctx.log(`${app} is on ${to} already`);
    return;
  }
  const total = migrationSteps.length;
  const title = (step: MigrationStep) =>
    `[${stepIndex(step) + 1}/${total}] ${app} ${entry.server} → ${to}: ${stepTitles[step]}`;
  if (!entry.migration) {
    ctx.log(title("preflight"));
    await preflight(run, to, options.forceHold ?? false);
    ctx.placement.write(app, entry.server, {
      to,
      done: "preflight",
      dns: "source",
      started: (ctx.now?.() ?? new Date()).toISOString(),
      ...(options.forceHold ? { forceHold: true } : {}),
    });
  } else {
    ctx.log(`${app}: resuming its migration to ${to} after step ${entry.migration.done}`);
  }
  const actions: Record<Exclude<MigrationStep, "preflight">, () => Promise<void>> = {
    stop: () => stop(run),
    "final-backup": () => finalBackup(run),
    verify: () => verify(run),
    restore: () => restore(run, to),
    dns: () => moveDns(run, to),
    "remove-source": () => removeSource(run, to),
  };
  for (const step of migrationSteps.slice(stepIndex(current(run).done) + 1)) {
    if (step === "preflight") continue;
    ctx.log(title(step));
    await actions[step]();
    if (step !== "remove-source") record(run, { done: step });
  }
  ctx.log(`${app} runs on ${to}; ${entry.server} no longer has it`);
}

/**
 * Returns an app whose migration has not moved its DNS records (its target never became
 * healthy, or a step failed) to the source: the source takes the hold back since the final
 * snapshot, the target's copy is removed, and the source's pods start again on its own data,
 * which is that snapshot's.
 */
export async function rollbackApp(ctx: MigrationContext, app: string): Promise<void> {
  const entry = ctx.placement.entry(app);
  const migration = entry.migration;
  if (!migration) throw new MigrationStopped(`${app} is not migrating: it runs on ${entry.server}`);
  const run: Run = { app, source: entry.server, ctx };
  const { to } = migration;
  if (stepIndex(migration.done) >= stepIndex("dns") || migration.dns === "target") {
    throw new MigrationStopped(
      `${app}'s DNS records are on ${to} already: it serves from there. Finish the migration ` +
        `(task migrate APP=${app} TO=${to}), then move it back with task migrate APP=${app} TO=${entry.server}`,
    );
  }
  ctx.log(`${app}: rolling back its migration to ${to} (after step ${migration.done})`);
  record(run, { rollingBack: true });
  const backups = await backupsOn(run, run.source);
  const hold = await backups.repository.hold();
  if (hold && hold.server !== run.source) {
    const since = migration.snapshot ?? hold.since;
    ctx.log(`  ${run.source} takes the hold back from ${hold.server} since snapshot ${since.slice(0, 8)}`);
    await backups.repository.takeHold(run.source, since, "rollback");
  }
  if (stepIndex(migration.done) >= stepIndex("verify")) {
    ctx.log(`  removing what ${to} restored (it never served)`);
    const restored = await ctx.cluster.backups(to, app);
    await deployGateways(run, to);
    await ctx.cluster.deploy(to, app, { skipFinalBackup: true });
    const database = restored?.database ?? backups.database;
    if (database) await ctx.cluster.dropDatabase(to, database);
  }
  ctx.placement.write(app, run.source);
  ctx.log(`  starting ${app} on ${run.source} again`);
  await ctx.cluster.deploy(run.source, app);
  await ctx.cluster.waitHealthy(run.source, app);
  ctx.log(`${app} runs on ${run.source} again`);
}

/** Where every app stands: its server, and a migration's last step done. */
export function migrationStatus(ctx: Pick<MigrationContext, "placement">): string[] {
  return Object.entries(ctx.placement.read()).map(([app, entry]) => {
    const migration = entry.migration;
    if (!migration) return `${app}: on ${entry.server}`;
    const next = migrationSteps[stepIndex(migration.done) + 1];
    const what = migration.rollingBack
      ? "rolling back (task migrate:rollback to finish)"
      : `done: ${migration.done}, next: ${next} (task migrate APP=${app} TO=${migration.to} continues)`;
    return (
      `${app}: migrating ${entry.server} → ${migration.to} since ${migration.started}; ${what}; ` +
      `DNS on ${migration.dns === "source" ? entry.server : migration.dns === "target" ? migration.to : "neither"}` +
      `${migration.snapshot ? `; final snapshot ${migration.snapshot.slice(0, 8)}` : ""}`
    );
  });
}
