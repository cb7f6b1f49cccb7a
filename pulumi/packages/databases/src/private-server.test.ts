import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { closedPort, missingBinaries, ResticSandbox, run } from "@infra/restic/src/testing/restic-sandbox";
import type { DatabaseKind } from "./engines";
import { mariadbdPath, postgresBinDir } from "./testing/db-servers";
import {
  type EntrypointServer,
  letOthersTraverse,
  localEnv,
  type RenderedDatabaseJobs,
  renderDatabaseJobs,
  startWithEntrypoint,
  writeBundle,
  writeFakeEntrypoint,
} from "./testing/private-server";

const adminPassword = "admin password";

interface Kind {
  kind: DatabaseKind;
  skip: string | false;
  /** Gives the app's server (the "original" cluster's) an app with its data, as the admin. */
  seed(port: number): Promise<{ code: number; stderr: string }>;
  /** Where the server's volume mounts in the jobs. */
  volumeMount: string;
  /** A script (run by the bundle's runner, against DB_HOST/DB_PORT as the admin) printing the app's rows. */
  query: string;
  /** What `query` prints for the original data. */
  rows: string;
}

function skipReason(binaries: string[], extra: string[]): string | false {
  const missing = [...missingBinaries(binaries), ...extra];
  return missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;
}

const kinds: Kind[] = [
  {
    kind: "postgresql",
    skip: skipReason(
      ["bash", "restic", "rclone", "psql", "pg_dump", "pg_isready", "setpriv"],
      postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"],
    ),
    seed(port) {
      return run(
        "psql",
        [
          "--no-psqlrc",
          "-v",
          "ON_ERROR_STOP=1",
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "-U",
          "postgres",
          "-f",
          "-",
        ],
        {
          env: { PATH: process.env.PATH, PGPASSWORD: adminPassword },
          input: `CREATE ROLE app LOGIN PASSWORD 'app';
            CREATE DATABASE appdb OWNER app;
            \\connect appdb
            SET ROLE app;
            CREATE TABLE items (id int PRIMARY KEY, name text);
            INSERT INTO items VALUES (1, 'ünïcode ✓'), (2, 'second');`,
        },
      );
    },
    volumeMount: "/var/lib/postgresql/data",
    query: `PGPASSWORD=$(cat "$DB_PASSWORD_FILE") psql --no-psqlrc -At -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d appdb \\
  -c "SELECT name, pg_get_userbyid(relowner) FROM items, pg_class WHERE relname = 'items' ORDER BY id"\n`,
    rows: "ünïcode ✓|app\nsecond|app\n",
  },
  {
    kind: "mariadb",
    skip: skipReason(
      ["bash", "restic", "rclone", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-install-db"],
      mariadbdPath() ? [] : ["the MariaDB server (mariadbd)"],
    ),
    seed(port) {
      return run(
        "mariadb",
        ["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", String(port), "-u", "root"],
        {
          env: { PATH: process.env.PATH, MYSQL_PWD: adminPassword },
          input: `CREATE DATABASE appdb CHARACTER SET utf8mb4;
            CREATE TABLE appdb.items (id int PRIMARY KEY, name text);
            INSERT INTO appdb.items VALUES (1, 'ünïcode ✓'), (2, 'second');
            CREATE USER 'app'@'%' IDENTIFIED BY 'app';
            GRANT ALL ON appdb.* TO 'app'@'%';`,
        },
      );
    },
    volumeMount: "/var/lib/mysql",
    query: `MYSQL_PWD=$(cat "$DB_PASSWORD_FILE") mariadb --no-defaults --protocol=TCP -h "$DB_HOST" -P "$DB_PORT" \\
  -u "$DB_USER" --batch -N -e "SELECT name, (SELECT count(*) FROM mysql.global_priv WHERE User = 'app') FROM appdb.items ORDER BY id"\n`,
    rows: "ünïcode ✓\t1\nsecond\t1\n",
  },
];

for (const spec of kinds) {
  describe(`the ${spec.kind} backup jobs with a private server`, { skip: spec.skip }, () => {
    let box: ResticSandbox;
    let jobs: RenderedDatabaseJobs;
    let original: EntrypointServer;
    let onlineDir: string;
    let offlineDir: string;
    let entrypoint: string;
    let runs = 0;

    /**
     * Runs a file of a bundle through its runner with a job's rendered variables, moved to this
     * machine: the volume (a fresh directory per name), scratch, secrets and repository.
     */
    async function runJob(options: {
      bundle: string;
      file: string;
      env: Record<string, string>;
      volume: string;
      overrides?: Record<string, string>;
    }) {
      const run_ = ++runs;
      const volume = await box.dir(`volume-${options.volume}`);
      await letOthersTraverse(volume);
      const env = localEnv(
        options.env,
        {
          "/opt/scripts": options.bundle,
          "/opt/tools": join(box.root, "tools"),
          "/secrets/database-admin": join(box.root, "admin"),
          "/secrets/restic/password": box.passwordFile,
          "/secrets/rclone/rclone.conf": box.rcloneConfig,
          "/cache": join(box.root, "cache"),
          "/backup": await box.dir(`scratch-${run_}`),
          [spec.volumeMount]: volume,
        },
        {
          HOME: box.root,
          RESTIC_REPOSITORY: box.repository,
          DB_SERVER_ENTRYPOINT: entrypoint,
          DB_PRIVATE_SERVER_PID_FILE: join(box.root, `server-${run_}.pid`),
          // Where the app's own server would answer: nothing listens there.
          DB_LIVE_HOST: "127.0.0.2",
          DB_PORT: String(await closedPort()),
          MARIADB_DATADIR: volume,
          ...options.overrides,
        },
      );
      const result = await run("bash", [join(options.bundle, "run.sh"), options.file], { env });
      return { ...result, volume, pidFile: env.DB_PRIVATE_SERVER_PID_FILE as string };
    }

    const snapshots = async () => box.snapshots(box.env(spec.kind));

    before(async () => {
      box = await ResticSandbox.create();
      jobs = await renderDatabaseJobs(spec.kind);
      onlineDir = await writeBundle(jobs.onlineFiles, join(box.root, "online"));
      offlineDir = await writeBundle(jobs.offlineFiles, join(box.root, "offline"));
      // The test's own file in the offline bundle: it reads the app's rows from the private server.
      await writeFile(join(offlineDir, "query.sh"), spec.query);
      await writeFile(join(await box.dir("admin"), "password"), adminPassword);
      entrypoint = await writeFakeEntrypoint(spec.kind, box.root);
      original = await startWithEntrypoint(
        spec.kind,
        entrypoint,
        await box.dir("original"),
        join(box.root, "admin", "password"),
      );
      const seeded = await spec.seed(original.port);
      assert.equal(seeded.code, 0, seeded.stderr);
      const backup = await runJob({
        bundle: onlineDir,
        file: "backup.sh",
        env: jobs.scheduledEnv,
        volume: "unused",
        overrides: { DB_HOST: "127.0.0.1", DB_PORT: String(original.port) },
      });
      assert.equal(backup.code, 0, backup.stderr);
    });

    after(async () => {
      await original?.stop();
      await box?.cleanup();
    });

    it("refuses to start a private server while the app's own server answers, touching nothing", async () => {
      const result = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        env: jobs.restoreEnv,
        volume: "beside-live",
        overrides: { DB_LIVE_HOST: "127.0.0.1", DB_PORT: String(original.port) },
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /the app's database server at 127\.0\.0\.1 is running/);
      assert.doesNotMatch(result.stderr, /restore\[/);
      assert.deepEqual(await readdir(result.volume), []);
    });

    it("restores the dump into an empty volume through a private server and stops it", async () => {
      const result = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        env: jobs.restoreEnv,
        volume: "b",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /restore finished/);
      assert.match(result.stderr, /private server stopped/);
      assert.equal(existsSync(result.pidFile), false);
      const rows = await runJob({ bundle: offlineDir, file: "query.sh", env: jobs.restoreEnv, volume: "b" });
      assert.equal(rows.code, 0, rows.stderr);
      assert.equal(rows.stdout, spec.rows);
    });

    it("skips the restore when the volume already holds the data", async () => {
      const result = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        env: jobs.restoreEnv,
        volume: "b",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /data already present: skipping the restore/);
    });

    it("takes a verified final backup from the stopped server's volume, which restores elsewhere", async () => {
      const before = (await snapshots()).length;
      const final = await runJob({ bundle: offlineDir, file: "backup.sh", env: jobs.finalEnv, volume: "b" });
      assert.equal(final.code, 0, final.stderr);
      assert.match(final.stderr, /done: verify the repository/);
      const after = await snapshots();
      assert.equal(after.length, before + 1);
      assert.deepEqual(after.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).at(-1)?.tags, [
        `${spec.kind}-test`,
        "final",
      ]);
      const restored = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        env: jobs.restoreEnv,
        volume: "c",
      });
      assert.equal(restored.code, 0, restored.stderr);
      const rows = await runJob({ bundle: offlineDir, file: "query.sh", env: jobs.restoreEnv, volume: "c" });
      assert.equal(rows.stdout, spec.rows);
    });

    it("runs neither the script nor a restore when the private server cannot start", async () => {
      const result = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        env: jobs.restoreEnv,
        volume: "broken",
        overrides: { DB_SERVER_ENTRYPOINT: "false" },
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /the private server exited while starting/);
      assert.match(result.stderr, /does not run/);
      assert.doesNotMatch(result.stderr, /restore\[/);
    });
  });
}
