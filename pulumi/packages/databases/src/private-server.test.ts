import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  canSwitchUsers,
  giveTo,
  kubeletDir,
  type PodUser,
  runAsPodUser,
  secretFiles,
  shareSandbox,
} from "@infra/restic/src/testing/pod-user";
import { localEnv, movedPath, writeBundle } from "@infra/restic/src/testing/rendered-job";
import {
  closedPort,
  describeTree,
  missingBinaries,
  ResticSandbox,
  run,
} from "@infra/restic/src/testing/restic-sandbox";
import { type DatabaseKind, engines } from "./engines";
import { mariadbdPath, postgresBinDir } from "./testing/db-servers";
import {
  type EntrypointServer,
  nssWrapper,
  type RenderedDatabaseJobs,
  type RenderedJob,
  renderDatabaseJobs,
  startWithEntrypoint,
  writeFakeEntrypoint,
} from "./testing/private-server";

const adminPassword = "admin password";

interface Kind {
  kind: DatabaseKind;
  skip: string | false;
  /** Gives the app's server (the "original" cluster's) an app with its data, as the admin. */
  seed(port: number): Promise<{ code: number; stderr: string }>;
  /** A script (run by the bundle's runner, against DB_HOST/DB_PORT as the admin) printing the app's rows. */
  query: string;
  /** What `query` prints for the original data. */
  rows: string;
}

function skipReason(binaries: string[], extra: string[]): string | false {
  const missing = [...missingBinaries(binaries), ...extra];
  if (missing.length > 0) return `needs ${missing.join(", ")}, not installed`;
  return canSwitchUsers ? false : "needs root, to run the server and its jobs as their pods' user";
}

/** MariaDB or MySQL, whose scripts run here against MariaDB with the kind's names of its tools. */
function mysqlFamilyKind(
  kind: "mariadb" | "mysql",
  tools: { client: string; dump: string; admin: string },
): Kind {
  return {
    kind,
    skip: skipReason(
      ["bash", "restic", "rclone", tools.client, tools.dump, tools.admin, "mariadb-install-db", "setpriv"],
      mariadbdPath() ? [] : ["the MariaDB server (mariadbd)"],
    ),
    seed(port) {
      return run(
        tools.client,
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
    query: `MYSQL_PWD=$(cat "$DB_PASSWORD_FILE") ${tools.client} --no-defaults --protocol=TCP -h "$DB_HOST" -P "$DB_PORT" \\
  -u "$DB_USER" --batch -N -e "SELECT name, (SELECT count(*) FROM mysql.user WHERE User = 'app') FROM appdb.items ORDER BY id"\n`,
    rows: "ünïcode ✓\t1\nsecond\t1\n",
  };
}

const kinds: Kind[] = [
  {
    kind: "postgresql",
    skip: skipReason(
      ["bash", "restic", "rclone", "psql", "pg_dump", "pg_isready", "setpriv"],
      [
        ...(postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"]),
        ...(nssWrapper ? [] : ["nss_wrapper (libnss-wrapper), which the postgres image has"]),
      ],
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

    query: `PGPASSWORD=$(cat "$DB_PASSWORD_FILE") psql --no-psqlrc -At -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d appdb \\
  -c "SELECT name, pg_get_userbyid(relowner) FROM items, pg_class WHERE relname = 'items' ORDER BY id"\n`,
    rows: "ünïcode ✓|app\nsecond|app\n",
  },
  mysqlFamilyKind("mariadb", { client: "mariadb", dump: "mariadb-dump", admin: "mariadb-admin" }),
  // MySQL's scripts with the MySQL names of MariaDB's tools, against MariaDB (no MySQL server here).
  mysqlFamilyKind("mysql", { client: "mysql", dump: "mysqldump", admin: "mysqladmin" }),
];

/** Every entry of a directory tree (not the directory itself) that does not belong to a user. */
async function ownedByOthers(root: string, user: PodUser): Promise<string[]> {
  return (await describeTree(root)).filter((entry) => entry.uid !== user.uid).map((entry) => entry.path);
}

for (const spec of kinds) {
  const engine = engines[spec.kind];

  describe(`the ${spec.kind} server and its backup jobs with a private server, as the image's user`, {
    skip: spec.skip,
  }, () => {
    let box: ResticSandbox;
    let jobs: RenderedDatabaseJobs;
    let user: PodUser;
    let original: EntrypointServer;
    let originalVolume: string;
    let onlineDir: string;
    let offlineDir: string;
    let adminDir: string;
    let runDir: string;
    let entrypoint: string;
    let runs = 0;

    /** The server's volume of a name: provisioned on first use, as the kubelet hands it to the pod. */
    async function volumeOf(name: string): Promise<string> {
      const path = join(box.root, `volume-${name}`);
      return existsSync(path) ? path : kubeletDir(path, user);
    }

    /** The rendered pod's paths on this machine, for a pod mounting `volume`. */
    const podPaths = (volume: string, extra: Record<string, string> = {}) => ({
      [engine.dataMount]: volume,
      "/secrets/database-admin": adminDir,
      [engine.runDir]: runDir,
      ...extra,
    });

    /**
     * Runs a file of a bundle through its runner with a job's rendered variables, moved to this
     * machine (the volume, scratch, secrets and repository), as the user its pod runs as.
     */
    async function runJob(options: {
      bundle: string;
      file: string;
      job: RenderedJob;
      volume: string;
      overrides?: Record<string, string>;
    }) {
      const run_ = ++runs;
      const volume = await volumeOf(options.volume);
      const home = join(box.root, `home-${run_}`);
      await mkdir(home);
      await giveTo(home, options.job.user);
      const env = localEnv(
        options.job.env,
        podPaths(volume, {
          "/opt/scripts": options.bundle,
          "/opt/tools": join(box.root, "no-tools"),
          "/secrets/restic/password": box.passwordFile,
          "/secrets/rclone/rclone.conf": box.rcloneConfig,
          "/cache": box.cacheDir,
          "/home/scripts": home,
          "/backup": await kubeletDir(join(box.root, `scratch-${run_}`), options.job.user),
        }),
        {
          RESTIC_REPOSITORY: box.repository,
          DB_SERVER_ENTRYPOINT: entrypoint,
          DB_PRIVATE_SERVER_PID_FILE: join(home, "private-server.pid"),
          // Where the app's own server would answer: nothing listens there.
          DB_LIVE_HOST: "127.0.0.2",
          DB_PORT: String(await closedPort()),
          ...options.overrides,
        },
      );
      const result = await runAsPodUser(
        options.job.user,
        "bash",
        [join(options.bundle, "run.sh"), options.file],
        {
          env,
        },
      );
      return { ...result, volume, pidFile: env.DB_PRIVATE_SERVER_PID_FILE as string };
    }

    // Read as root, with a cache of its own: the jobs' cache stays their user's.
    const snapshots = async () =>
      box.snapshots({ ...box.env(spec.kind), RESTIC_CACHE_DIR: join(box.root, "root-cache") });

    before(async () => {
      jobs = await renderDatabaseJobs(spec.kind);
      user = jobs.server.user;
      box = await ResticSandbox.create();
      await shareSandbox(box, user);
      onlineDir = await writeBundle(jobs.onlineFiles, join(box.root, "online"));
      offlineDir = await writeBundle(jobs.offlineFiles, join(box.root, "offline"));
      // The test's own file in the offline bundle: it reads the app's rows from the private server.
      await writeFile(join(offlineDir, "query.sh"), spec.query);
      adminDir = await secretFiles(join(box.root, "admin"), { password: adminPassword }, user);
      // The emptyDir every pod of the server mounts for its socket (one here: ports tell them apart).
      runDir = await kubeletDir(join(box.root, "run"), user);
      entrypoint = await writeFakeEntrypoint(spec.kind, box.root, runDir);
      originalVolume = await volumeOf("original");
      original = await startWithEntrypoint({
        kind: spec.kind,
        entrypoint,
        server: jobs.server,
        moved: (value) => movedPath(value, podPaths(originalVolume)),
      });
      const seeded = await spec.seed(original.port);
      assert.equal(seeded.code, 0, seeded.stderr);
      const backup = await runJob({
        bundle: onlineDir,
        file: "backup.sh",
        job: jobs.scheduled,
        volume: "unused",
        overrides: { DB_HOST: "127.0.0.1", DB_PORT: String(original.port) },
      });
      assert.equal(backup.code, 0, backup.stderr);
    });

    after(async () => {
      await original?.stop();
      await box?.cleanup();
    });

    it("runs the server and every backup job as the image's own user and group, never root", async () => {
      for (const rendered of [jobs.server, jobs.scheduled, jobs.restore, jobs.final]) {
        assert.deepEqual(rendered.user, { uid: 999, gid: 999, fsGroup: 999 });
      }
      // The server initialised its volume as that user: nothing in it is root's.
      assert.deepEqual(await ownedByOthers(originalVolume, user), []);
    });

    it("refuses to start a private server while the app's own server answers, touching nothing", async () => {
      const result = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        job: jobs.restore,
        volume: "beside-live",
        overrides: { DB_LIVE_HOST: "127.0.0.1", DB_PORT: String(original.port) },
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /the app's database server at 127\.0\.0\.1 is running/);
      assert.doesNotMatch(result.stderr, /restore\[/);
      assert.deepEqual(await readdir(result.volume), []);
    });

    it("restores the dump into an empty volume through a private server as the image's user, and stops it", async () => {
      const result = await runJob({ bundle: offlineDir, file: "restore.sh", job: jobs.restore, volume: "b" });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /restore finished/);
      assert.match(result.stderr, /private server stopped/);
      assert.equal(existsSync(result.pidFile), false);
      assert.deepEqual(await ownedByOthers(result.volume, user), []);
      const rows = await runJob({ bundle: offlineDir, file: "query.sh", job: jobs.restore, volume: "b" });
      assert.equal(rows.code, 0, rows.stderr);
      assert.equal(rows.stdout, spec.rows);
    });

    it("skips the restore when the volume already holds the data", async () => {
      const result = await runJob({ bundle: offlineDir, file: "restore.sh", job: jobs.restore, volume: "b" });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /data already present: skipping the restore/);
    });

    it("takes a verified final backup from the stopped server's volume, which restores elsewhere", async () => {
      const before = (await snapshots()).length;
      const final = await runJob({ bundle: offlineDir, file: "backup.sh", job: jobs.final, volume: "b" });
      assert.equal(final.code, 0, final.stderr);
      assert.match(final.stderr, /done: verify the repository/);
      const after = await snapshots();
      assert.equal(after.length, before + 1);
      assert.deepEqual(after.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).at(-1)?.tags, [
        `${spec.kind}-test`,
        "server:test",
        "final",
      ]);
      const restored = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        job: jobs.restore,
        volume: "c",
      });
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(await ownedByOthers(restored.volume, user), []);
      const rows = await runJob({ bundle: offlineDir, file: "query.sh", job: jobs.restore, volume: "c" });
      assert.equal(rows.stdout, spec.rows);
    });

    it("runs neither the script nor a restore when the private server cannot start", async () => {
      const result = await runJob({
        bundle: offlineDir,
        file: "restore.sh",
        job: jobs.restore,
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
