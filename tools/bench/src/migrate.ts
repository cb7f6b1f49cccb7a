import { spawnSync } from "node:child_process";
import { mkdir, rm, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { migrationSteps } from "@infra/core";
import { postgresBinDir } from "@infra/databases/src/testing/db-servers";
import { migrateApp } from "@tools/migrate/src/migration";
import { PlacementFile } from "@tools/migrate/src/placement-file";
import { Rehearsal, RehearsalCluster } from "@tools/migrate/src/testing/rehearsal";
import {
  formatBytes,
  GiB,
  MiB,
  pseudoRandomStream,
  say,
  timed,
  treeDigest,
  writePseudoRandomFile,
} from "./common";

const app = "vaultwarden";
// Rows of 1 KiB (32 md5 digests) stay in their table's pages, never TOAST-compressed: the
// database's size on disk is about what its dump holds.
const digestsPerRow = 32;

/** Half the bytes in small files (4-60 KiB, 256 per directory), half in four large ones; returns the files. */
async function generateFiles(root: string, totalBytes: number): Promise<string[]> {
  const files: string[] = [];
  let small = 0;
  for (let index = 0; small < totalBytes / 2; index++) {
    const dir = join(root, "attachments", String(Math.floor(index / 256)).padStart(4, "0"));
    if (index % 256 === 0) await mkdir(dir, { recursive: true });
    const size = 4096 + ((index * 7919) % 57) * 1024;
    const path = join(dir, `file-${index}.bin`);
    await writeFile(path, pseudoRandomStream(`small-${index}`)(size));
    files.push(path);
    small += size;
  }
  await mkdir(join(root, "large"));
  const largeSize = Math.ceil((totalBytes - small) / 4);
  for (let index = 0; index < 4; index++) {
    const path = join(root, "large", `blob-${index}.bin`);
    await writePseudoRandomFile(path, largeSize, `large-${index}`);
    files.push(path);
  }
  return files;
}

const seconds = (value: number) => `${value.toFixed(1)} s`.padStart(10);

/**
 * The downtime of `task migrate` (from the stop on the source to the app healthy on the target:
 * stop, final incremental backup, verify, restore), run by migrateApp through the rehearsal
 * cluster (the rendered jobs on two local PostgreSQL servers and one restic repository through
 * rclone), against the floor of moving the same data by hand in the same run: the volume and a
 * dump of the database copied with tar, the dump loaded into the other server.
 */
export async function benchMigrate(options: {
  sizeGiB: number;
  databaseMiB: number;
  workDir?: string;
}): Promise<void> {
  for (const [name, value] of [
    ["--size-gib", options.sizeGiB],
    ["--database-mib", options.databaseMiB],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`${name} must be a positive number, got ${value}`);
  }
  const missing = ["bash", "restic", "rclone", "tar", "psql", "pg_dump", "pg_restore"].filter(
    (name) => spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0,
  );
  if (!postgresBinDir()) missing.push("the PostgreSQL server (initdb)");
  if (missing.length > 0) throw new Error(`the migration benchmark needs ${missing.join(", ")}`);

  const fileBytes = Math.round(options.sizeGiB * GiB);
  const databaseBytes = Math.round(options.databaseMiB * MiB);
  const parent = resolve(options.workDir ?? tmpdir());
  await mkdir(parent, { recursive: true });
  const space = await statfs(parent);
  // The source, the repository, the tar copy and the target, each with the database.
  const needed = (fileBytes + databaseBytes) * 6;
  if (space.bavail * space.bsize < needed) {
    throw new Error(
      `${parent} has ${formatBytes(space.bavail * space.bsize)} free; needs about ${formatBytes(needed)}`,
    );
  }
  say("starting the rehearsal's servers (two PostgreSQL servers, one storage)");
  const rehearsal = await Rehearsal.start(parent);
  const onSignal = () => {
    void rehearsal.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await rehearsal.reset({ [app]: "cloud-a" });
    const cluster = new RehearsalCluster(rehearsal);
    say(`deploying ${app} on cloud-a`);
    await cluster.deploy("cloud-a", app);
    const volume = cluster.appVolume("cloud-a", app);
    const login = cluster.appLogin("cloud-a", app);
    const source = rehearsal.server("cloud-a");
    const target = rehearsal.server("cloud-b");

    say(`writing ${formatBytes(fileBytes)} of incompressible files into its volume`);
    const files = await generateFiles(volume, fileBytes);
    say(`filling its database with ${formatBytes(databaseBytes)} of rows`);
    await source.database.sql("CREATE TABLE bench_rows (id bigint PRIMARY KEY, body text NOT NULL)", login);
    const size = async () =>
      Number(await source.database.sql(`SELECT pg_database_size(current_database())`, login));
    for (
      let first = 1, missing = databaseBytes - (await size());
      missing > 0;
      missing = databaseBytes - (await size())
    ) {
      // About a KiB and a tenth a row on disk, at most 50 000 rows at a time.
      const rows = Math.min(50_000, Math.ceil(missing / 1100));
      await source.database.sql(
        `INSERT INTO bench_rows SELECT g, (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, ${digestsPerRow}) i)` +
          ` FROM generate_series(${first}, ${first + rows - 1}) g`,
        login,
      );
      first += rows;
    }
    const databaseSize = await size();

    say("the scheduled backup before the migration (the repository's first)");
    const first = await cluster.scheduledBackupJob("cloud-a", app).run();
    if (first.code !== 0) throw new Error(`the scheduled backup failed:\n${first.stderr}`);
    // What the app writes between its last backup and the stop: 1% of the files and of the rows.
    for (let index = 0; index < files.length; index += 100) {
      const path = files[index] as string;
      await writeFile(path, pseudoRandomStream(`changed-${index}`)((await stat(path)).size));
    }
    await source.database.sql(
      `UPDATE bench_rows SET body = md5(body) || substr(body, 33) WHERE id % 100 = 0`,
      login,
    );
    const rowsDigest = "SELECT count(*), md5(string_agg(md5(body), '' ORDER BY id)) FROM bench_rows";
    const expected = { files: await treeDigest(volume), rows: await source.database.sql(rowsDigest, login) };

    // Each side starts with what was written before it on disk, not in writeback.
    spawnSync("sync");
    say("floor: pg_dump of the database beside the volume, tar to cloud-b's disk, pg_restore there");
    const copy = join(rehearsal.root, "tar-copy");
    const dump = join(rehearsal.root, "tar-source", `${login.database}.pgdump`);
    await mkdir(join(rehearsal.root, "tar-source"));
    await mkdir(copy);
    const pgEnv = { PATH: process.env.PATH, PGPASSWORD: login.password };
    const floor = {
      dump: await timed(
        "pg_dump",
        [
          ...["--format=custom", "--compress=0", "--file", dump],
          ...["-h", "127.0.0.1", "-p", String(source.database.port), "-U", login.user, login.database],
        ],
        pgEnv,
      ),
      tar: await timed(
        "bash",
        [
          "-c",
          'set -o pipefail; tar -cf - -C "$1" . -C "$3" "$4" | tar -C "$2" -xf -',
          "tar",
          volume,
          copy,
          dirname(dump),
          basename(dump),
        ],
        { PATH: process.env.PATH },
      ),
      load: 0,
    };
    await target.database.sql("CREATE DATABASE bench_floor", target.database.admin);
    floor.load = await timed(
      "pg_restore",
      [
        ...["--no-owner", "--single-transaction", "--exit-on-error"],
        ...["-h", "127.0.0.1", "-p", String(target.database.port), "-U", target.database.admin.user],
        ...["-d", "bench_floor", join(copy, `${login.database}.pgdump`)],
      ],
      { PATH: process.env.PATH, PGPASSWORD: target.database.admin.password },
    );
    const floorSeconds = floor.dump + floor.tar + floor.load;
    await target.database.sql("DROP DATABASE bench_floor", target.database.admin);
    await rm(copy, { recursive: true });
    await rm(join(rehearsal.root, "tar-source"), { recursive: true });

    spawnSync("sync");
    say(`task migrate APP=${app} TO=cloud-b (migrateApp through the rehearsal cluster)`);
    const started = new Map<string, number>();
    await migrateApp(
      {
        placement: new PlacementFile(rehearsal.placementPath),
        cluster: new RehearsalCluster(rehearsal),
        log: (line) => {
          // Each step's title starts "[n/7]": it begins then, and the one before it has ended.
          const step = migrationSteps[Number(/^\[(\d+)\//.exec(line)?.[1]) - 1];
          if (step) started.set(step, performance.now());
          say(line);
        },
      },
      { app, to: "cloud-b" },
    );
    const between = (from: string, to: string) =>
      ((started.get(to) ?? Number.NaN) - (started.get(from) ?? Number.NaN)) / 1000;
    const steps: [string, number][] = [
      ["stop", between("stop", "final-backup")],
      ["final incremental backup", between("final-backup", "verify")],
      ["verify", between("verify", "restore")],
      ["restore, until healthy", between("restore", "dns")],
    ];
    const downtime = between("stop", "dns");

    say("comparing cloud-b's data with what cloud-a had when it stopped");
    const targetLogin = cluster.appLogin("cloud-b", app);
    const moved = {
      files: await treeDigest(cluster.appVolume("cloud-b", app)),
      rows: await target.database.sql(rowsDigest, targetLogin),
    };
    if (moved.files !== expected.files) throw new Error("cloud-b's volume differs from cloud-a's");
    if (moved.rows !== expected.rows) throw new Error("cloud-b's database differs from cloud-a's");

    const restic = spawnSync("restic", ["version"]).stdout.toString().trim();
    console.log(
      `\nMigration benchmark: ${formatBytes(fileBytes)} in ${files.length} files, a database of ` +
        `${formatBytes(databaseSize)} (on disk), 1% changed since the last backup; ${restic}`,
    );
    console.log(
      "downtime = migrateApp's steps from the stop to the app healthy on the target (each deploy includes\n" +
        "the rehearsal's synth of the project, standing in for pulumi up); floor = pg_dump, tar of the\n" +
        "volume and the dump to the target's disk, pg_restore there\n",
    );
    for (const [name, value] of steps) console.log(`${name.padEnd(28)}${seconds(value)}`);
    console.log(`${"downtime".padEnd(28)}${seconds(downtime)}`);
    console.log(
      `${"floor: dump, tar, load".padEnd(28)}${seconds(floorSeconds)}  (${floor.dump.toFixed(1)} + ${floor.tar.toFixed(1)} + ${floor.load.toFixed(1)} s)`,
    );
    const ratio = downtime / floorSeconds;
    console.log(`${"downtime/floor".padEnd(28)}${`${ratio.toFixed(2)}x`.padStart(10)}`);
    console.log("cloud-b's volume and database verified identical to cloud-a's at the stop");
    console.log(
      `target: downtime ≤ 3x the tar copy: ${ratio.toFixed(2)}x, ${ratio <= 3 ? "met" : "NOT met"}`,
    );
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    say(`removing ${rehearsal.root}`);
    await rehearsal.stop();
  }
}
