import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AppPlacement, stepIndex } from "@infra/core";
import { postgresBinDir } from "@infra/databases/src/testing/db-servers";
import { describeTree, missingBinaries, run, type TreeEntry } from "@infra/restic/src/testing/restic-sandbox";
import { stringify } from "yaml";
import { type MigrationContext, migrateApp, rollbackApp } from "./migration";
import { PlacementFile } from "./placement-file";
import { Interrupted, type KeptJob, Rehearsal, RehearsalCluster } from "./testing/rehearsal";

/**
 * Vaultwarden moved from cloud-a to cloud-b by the migration's own code, over two servers on this
 * machine (a real PostgreSQL each) and one real restic repository through rclone: synth renders
 * the project for every state of the placement, and its rendered jobs run for real.
 */

const missing = [
  ...missingBinaries(["bash", "restic", "rclone", "psql", "pg_dump", "pg_restore"]),
  ...(postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"]),
];
const app = "vaultwarden";
/** The cluster calls that change a server (the others only read). */
const changesServer = /^(deploy|destroy|finalBackup|dropDatabase) /;

const backedUp = [
  { id: "alice", body: "alice's vault ✓" },
  { id: "bob", body: "bob's vault, with 'quotes'" },
];
const sinceBackup = [
  { id: "carol", body: "written after the last scheduled backup" },
  { id: "dave", body: "also only in the final backup" },
];
const expectedRows = [...backedUp, ...sinceBackup]
  .sort((a, b) => a.id.localeCompare(b.id))
  .map((row) => `${row.id}|${row.body}`)
  .join("\n");

function context(rehearsal: Rehearsal, cluster: RehearsalCluster): MigrationContext {
  return { placement: new PlacementFile(rehearsal.placementPath), cluster, log: () => {} };
}

/** Vaultwarden deployed on cloud-a, backed up once, and written to since. */
async function prepare(rehearsal: Rehearsal): Promise<{ volume: string; tree: TreeEntry[] }> {
  await rehearsal.reset({ [app]: "cloud-a" });
  const cluster = new RehearsalCluster(rehearsal);
  await cluster.deploy("cloud-a", app);
  for (const row of backedUp) await cluster.write("cloud-a", app, row);
  const backup = await cluster.scheduledBackupJob("cloud-a", app).run();
  assert.equal(backup.code, 0, backup.stderr);
  for (const row of sinceBackup) await cluster.write("cloud-a", app, row);
  const volume = cluster.appVolume("cloud-a", app);
  return { volume, tree: await describeTree(volume) };
}

interface Outcome {
  placement: AppPlacement;
  rows: string;
  tree: TreeEntry[];
  sourceHasVolume: boolean;
  sourceDatabases: string[];
  hold: string | undefined;
  dnsViolations: string[];
}

/** Where vaultwarden stands after a migration to cloud-b, as a user and the operator see it. */
async function outcome(rehearsal: Rehearsal, sourceVolume: string): Promise<Outcome> {
  const cluster = new RehearsalCluster(rehearsal);
  const backups = await cluster.backups("cloud-b", app);
  return {
    placement: new PlacementFile(rehearsal.placementPath).entry(app),
    rows: (await cluster.rows("cloud-b", app)).trim(),
    tree: await describeTree(cluster.appVolume("cloud-b", app)),
    sourceHasVolume: existsSync(sourceVolume),
    sourceDatabases: await rehearsal.server("cloud-a").appDatabases(),
    hold: (await backups?.repository.hold())?.server,
    dnsViolations: [...rehearsal.dnsViolations],
  };
}

/** restic on the repository's directory, with the password of the app's secrets file. */
function restic(rehearsal: Rehearsal, args: string[]) {
  return run("restic", args, {
    env: {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: rehearsal.repositoryDir(app),
      RESTIC_PASSWORD: rehearsal.secretsFile(app).resticPassword,
      RESTIC_CACHE_DIR: rehearsal.resticCache,
    },
  });
}

async function snapshotCount(rehearsal: Rehearsal): Promise<number> {
  const listed = await restic(rehearsal, ["snapshots", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  return (JSON.parse(listed.stdout) as unknown[]).length;
}

/** Flips bytes inside a pack that holds file data only (no trees): only reading the data back finds it. */
async function damageDataPack(rehearsal: Rehearsal): Promise<void> {
  const indexes = await restic(rehearsal, ["list", "index"]);
  for (const index of indexes.stdout.split("\n").filter(Boolean)) {
    const content = await restic(rehearsal, ["cat", "index", index]);
    const { packs } = JSON.parse(content.stdout) as { packs: { id: string; blobs: { type: string }[] }[] };
    const pack = packs.find((candidate) => candidate.blobs.every((blob) => blob.type === "data"));
    if (!pack) continue;
    const file = await open(join(rehearsal.repositoryDir(app), "data", pack.id.slice(0, 2), pack.id), "r+");
    try {
      await file.write(Buffer.alloc(32, 0xa5), 0, 32, 16);
    } finally {
      await file.close();
    }
    return;
  }
  throw new Error("the repository has no pack of file data");
}

/** Rehearsals that tests take one at a time, each from its preparation to its last assertion. */
class RehearsalPool {
  private readonly waiting: ((rehearsal: Rehearsal) => void)[] = [];

  constructor(private readonly idle: Rehearsal[]) {}

  async use<T>(work: (rehearsal: Rehearsal) => Promise<T>): Promise<T> {
    const rehearsal =
      this.idle.pop() ?? (await new Promise<Rehearsal>((resolve) => this.waiting.push(resolve)));
    try {
      return await work(rehearsal);
    } finally {
      const next = this.waiting.shift();
      if (next) next(rehearsal);
      else this.idle.push(rehearsal);
    }
  }
}

describe("vaultwarden migrated from cloud-a to cloud-b over two rehearsal servers", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let rehearsal: Rehearsal;
  let reference: { calls: RehearsalCluster["calls"]; outcome: Outcome };
  let keptBackup: KeptJob;

  before(async () => {
    rehearsal = await Rehearsal.start();
  });

  after(async () => {
    await rehearsal?.stop();
  });

  it("brings every row and file written before the stop to cloud-b, and leaves nothing on cloud-a", async () => {
    const source = await prepare(rehearsal);
    const cluster = new RehearsalCluster(rehearsal);
    keptBackup = cluster.scheduledBackupJob("cloud-a", app);
    await migrateApp(context(rehearsal, cluster), { app, to: "cloud-b" });
    reference = { calls: [...cluster.calls], outcome: await outcome(rehearsal, source.volume) };
    assert.deepEqual(reference.outcome, {
      placement: { server: "cloud-b" },
      rows: expectedRows,
      tree: source.tree,
      sourceHasVolume: false,
      sourceDatabases: [],
      hold: "cloud-b",
      dnsViolations: [],
    });
  });

  it("refuses the scheduled backup cloud-a kept from before the move, adding no snapshot", async () => {
    const snapshots = await snapshotCount(rehearsal);
    const refused = await keptBackup.run();
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /this server \(cloud-a\) no longer holds vaultwarden/);
    assert.equal(await snapshotCount(rehearsal), snapshots);
  });

  describe("from a fresh start each", { concurrency: true }, () => {
    let pool: RehearsalPool;
    const started: Rehearsal[] = [];

    before(async () => {
      // A migration spends most of its time in restic's key derivation, one core each.
      started.push(...(await Promise.all([Rehearsal.start(), Rehearsal.start()])));
      pool = new RehearsalPool([rehearsal, ...started]);
    });

    after(async () => {
      await Promise.all(started.map((other) => other.stop()));
    });

    it("refuses a write on cloud-a once the app stopped there, and the refused row is nowhere after the move", () =>
      pool.use(async (rehearsal) => {
        await prepare(rehearsal);
        const stopped = reference.calls.findIndex((call) => call.what === `waitStopped cloud-a ${app}`) + 1;
        const killed = new RehearsalCluster(rehearsal, { interrupt: { at: stopped, when: "after" } });
        await assert.rejects(migrateApp(context(rehearsal, killed), { app, to: "cloud-b" }), Interrupted);
        await assert.rejects(
          killed.write("cloud-a", app, { id: "erin", body: "too late" }),
          /vaultwarden does not run on cloud-a/,
        );
        await migrateApp(context(rehearsal, new RehearsalCluster(rehearsal)), { app, to: "cloud-b" });
        assert.equal((await new RehearsalCluster(rehearsal).rows("cloud-b", app)).trim(), expectedRows);
      }));

    it("ends as the uninterrupted move after a kill at any cluster call and a rerun", {
      concurrency: true,
    }, async (t) => {
      // A kill after each call that changes a server, between its effect and the migration's
      // record of it; and one right after each record, before the next call. A kill after a call
      // that only reads leaves the state of the kill before it (or of no kill at all): the rerun
      // would start from the same data.
      const kills = reference.calls.flatMap((call, index) => [
        ...(index > 0 && call.placement !== reference.calls[index - 1]?.placement
          ? [{ at: index + 1, when: "before" as const, what: call.what }]
          : []),
        ...(changesServer.test(call.what)
          ? [{ at: index + 1, when: "after" as const, what: call.what }]
          : []),
      ]);
      await Promise.all(
        kills.map((kill) =>
          t.test(`killed ${kill.when} call ${kill.at}, ${kill.what}`, () =>
            pool.use(async (rehearsal) => {
              const { volume } = await prepare(rehearsal);
              const killed = new RehearsalCluster(rehearsal, { interrupt: kill });
              await assert.rejects(
                migrateApp(context(rehearsal, killed), { app, to: "cloud-b" }),
                Interrupted,
              );
              await migrateApp(context(rehearsal, new RehearsalCluster(rehearsal)), { app, to: "cloud-b" });
              assert.deepEqual(await outcome(rehearsal, volume), reference.outcome);
            }),
          ),
        ),
      );
    });

    it("stops before anything is removed when a pack of the repository is damaged, and rolls back to the source", () =>
      pool.use(async (rehearsal) => {
        const source = await prepare(rehearsal);
        await damageDataPack(rehearsal);
        // Only reading the data finds the damage: the target's restore does, before the source is touched.
        await assert.rejects(
          migrateApp(context(rehearsal, new RehearsalCluster(rehearsal)), { app, to: "cloud-b" }),
          /restore[\s\S]*(ciphertext verification failed|failed)/,
        );
        const entry = new PlacementFile(rehearsal.placementPath).entry(app);
        assert.equal(entry.server, "cloud-a");
        assert.ok(
          entry.migration && stepIndex(entry.migration.done) < stepIndex("restore"),
          JSON.stringify(entry),
        );
        assert.deepEqual(await describeTree(source.volume), source.tree);
        assert.equal((await new RehearsalCluster(rehearsal).rows("cloud-a", app)).trim(), expectedRows);
        const cluster = new RehearsalCluster(rehearsal);
        await rollbackApp(context(rehearsal, cluster), app);
        assert.deepEqual(new PlacementFile(rehearsal.placementPath).entry(app), { server: "cloud-a" });
        assert.equal((await cluster.rows("cloud-a", app)).trim(), expectedRows);
        assert.deepEqual(await rehearsal.server("cloud-b").appDatabases(), []);
      }));

    it("stops at preflight, the placement untouched, when the storage cannot be reached", () =>
      pool.use(async (rehearsal) => {
        await prepare(rehearsal);
        const placement = readFileSync(rehearsal.placementPath, "utf8");
        rehearsal.pointStorageAt(join(rehearsal.root, "no-such-storage"));
        try {
          await assert.rejects(
            migrateApp(context(rehearsal, new RehearsalCluster(rehearsal)), { app, to: "cloud-b" }),
            /restic cat of vaultwarden's repository failed/,
          );
        } finally {
          rehearsal.pointStorageAt();
        }
        assert.equal(readFileSync(rehearsal.placementPath, "utf8"), placement);
        assert.deepEqual(rehearsal.server("cloud-b").readState().projects, {});
      }));

    it("sees one hostname's records on both servers when the placement is edited by hand, and cloud-b's restore refuses the app cloud-a holds", () =>
      pool.use(async (rehearsal) => {
        await prepare(rehearsal);
        // What the placement file's header forbids: the app's line changed, as if it were not deployed.
        writeFileSync(rehearsal.placementPath, stringify({ apps: { [app]: "cloud-b" } }));
        const cluster = new RehearsalCluster(rehearsal);
        await assert.rejects(
          cluster.deploy("cloud-b", app),
          /cloud-a \(since no snapshot, .*\) holds vaultwarden: nothing was restored, and no hold taken/,
        );
        assert.equal(rehearsal.dnsViolations.length, 1);
        assert.match(
          rehearsal.dnsViolations[0] ?? "",
          /has records on cloud-b \(vaultwarden\) and cloud-a \(vaultwarden\)/,
        );
        await assert.rejects(
          cluster.write("cloud-b", app, { id: "grace", body: "" }),
          /does not run on cloud-b/,
        );
        assert.equal((await cluster.rows("cloud-a", app)).trim(), expectedRows);
      }));

    it("rolls back a failed restore on cloud-b: cloud-a runs and holds the app again, cloud-b has nothing", () =>
      pool.use(async (rehearsal) => {
        await prepare(rehearsal);
        // cloud-b's PostgreSQL still has a vaultwarden database with a table (an earlier attempt):
        // the restore finds part of the app's data there and fails, touching nothing.
        const target = rehearsal.server("cloud-b");
        await target.database.sql("CREATE DATABASE vaultwarden", target.database.admin);
        await target.database.sql("CREATE TABLE leftover (id int)", {
          ...target.database.admin,
          database: app,
        });
        await assert.rejects(
          migrateApp(context(rehearsal, new RehearsalCluster(rehearsal)), { app, to: "cloud-b" }),
          /only part of the app's data is there/,
        );
        const cluster = new RehearsalCluster(rehearsal);
        await rollbackApp(context(rehearsal, cluster), app);
        assert.deepEqual(new PlacementFile(rehearsal.placementPath).entry(app), { server: "cloud-a" });
        await cluster.write("cloud-a", app, { id: "frank", body: "written after the rollback" });
        const snapshots = await snapshotCount(rehearsal);
        const backup = await cluster.scheduledBackupJob("cloud-a", app).run();
        assert.equal(backup.code, 0, backup.stderr);
        assert.equal(await snapshotCount(rehearsal), snapshots + 1);
        assert.equal((await (await cluster.backups("cloud-a", app))?.repository.hold())?.server, "cloud-a");
        assert.deepEqual(target.readState().projects, {});
        assert.deepEqual(await target.appDatabases(), []);
        assert.deepEqual(await readdir(join(target.dir, "volumes")), []);
      }));
  });
});
