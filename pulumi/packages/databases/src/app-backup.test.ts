import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  describeTree,
  missingBinaries,
  ResticSandbox,
  type RunResult,
  run,
  type TreeEntry,
} from "@infra/restic/src/testing/restic-sandbox";
import { type DatabaseKind, databaseScriptsDir, engines } from "./engines";
import { type DatabaseServer, mariadbdPath, postgresBinDir, startDatabaseServer } from "./testing/db-servers";

/**
 * An app whose one repository holds everything that is its own: its volume and a dump of its own
 * database on the cluster's shared server, taken and loaded with the app's own account.
 */

const script = (name: string) => join(databaseScriptsDir, name);
const appBackupComment = "homelab: backed up by its app";

// The app's database and account as the app kit names them ("_" is a wildcard in MariaDB grants).
const app = { database: "vault_db", user: "vault", password: `vault 'pass" word` };
// A database of another app that the server's own backup keeps.
const notes = { database: "notes", user: "notes", password: "notes password" };

interface Engine {
  kind: DatabaseKind;
  skip: string | false;
  /** Run as the app's account: the app's tables, a view, a routine and more. */
  seedSql: string;
  /** Run as the app's account: everything the restore must bring back, as rows. */
  fingerprintSql: string;
  /** Run as the app's account: who owns (or is the definer of) each of the app's objects. */
  ownersSql: string;
  owners: string;
  /** Run as the app's account: drops every object of the app's database. */
  emptySql: string;
  /** Run as the app's account: a row the restore does not hold. */
  straySql: string;
  /** The other app's table, run as that app's account. */
  notesSql: string;
  /** The databases a server's own backup dumped into `dir`, and the roles or accounts it saved. */
  serverDump(dir: string): Promise<{ databases: string[]; roles: string }>;
  /** Databases the server's own backup holds besides the apps'. */
  serverOwn: string[];
  /**
   * Run as the admin: what marks a database as backed up by its app (its comment; MySQL, which has
   * no database comments: its name in the platform's list), empty when it is not marked.
   */
  markSql(database: string): string;
  /** What `markSql` prints for a marked database. */
  mark(database: string): string;
  /** Whether the restore marks the database itself while it loads (DDL that is not transactional). */
  markerTable: boolean;
}

function skipReason(binaries: string[], extra: string[]): string | false {
  const missing = [...missingBinaries(binaries), ...extra];
  return missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;
}

const resticTools = ["bash", "restic", "rclone"];

const kinds: Engine[] = [
  {
    kind: "postgresql",
    skip: skipReason(
      [...resticTools, "psql", "pg_dump", "pg_dumpall", "pg_restore"],
      postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"],
    ),
    seedSql: `CREATE EXTENSION pgcrypto;
      CREATE SCHEMA vault;
      CREATE TABLE vault.items (id serial PRIMARY KEY, name text NOT NULL, payload bytea);
      INSERT INTO vault.items (name, payload) VALUES ('ünïcode ✓', '\\x00ff10'), ('second', NULL);
      CREATE TABLE vault.attachments (item int REFERENCES vault.items, path text);
      INSERT INTO vault.attachments VALUES (1, 'attachments/1/photo.bin');
      CREATE VIEW vault.digests AS SELECT id, encode(digest(name, 'sha256'), 'hex') AS sha FROM vault.items;
      CREATE FUNCTION vault.item_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM vault.items';`,
    fingerprintSql: `SELECT id, name, encode(payload, 'hex') FROM vault.items ORDER BY id;
      SELECT * FROM vault.attachments;
      SELECT * FROM vault.digests ORDER BY id;
      SELECT vault.item_count();
      SELECT last_value FROM vault.items_id_seq;`,
    ownersSql: `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'vault';
      SELECT DISTINCT viewowner FROM pg_views WHERE schemaname = 'vault';
      SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'vault';`,
    owners: "vault\nvault\nvault\n",
    emptySql: "DROP SCHEMA vault CASCADE; DROP EXTENSION pgcrypto;",
    straySql: "INSERT INTO vault.items (name) VALUES ('written by the dead restore')",
    notesSql: "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept');",
    async serverDump(dir) {
      const files = await readdir(dir);
      return {
        databases: files.filter((f) => f.endsWith(".pgdump")).map((f) => f.replace(/\.pgdump$/, "")),
        roles: await readFile(join(dir, "globals.sql"), "utf8"),
      };
    },
    serverOwn: ["postgres"],
    markSql: (database) =>
      `SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '${database}'`,
    mark: () => appBackupComment,
    markerTable: false,
  },
  {
    kind: "mariadb",
    skip: skipReason(
      [...resticTools, "mariadb", "mariadb-dump", "mariadb-install-db"],
      mariadbdPath() ? [] : ["the MariaDB server (mariadbd)"],
    ),
    seedSql: `CREATE TABLE vault_db.items (id int AUTO_INCREMENT PRIMARY KEY, name text NOT NULL, payload blob)
        CHARACTER SET utf8mb4;
      CREATE TABLE vault_db.audit (item int, action text);
      CREATE TRIGGER vault_db.items_audit AFTER INSERT ON vault_db.items
        FOR EACH ROW INSERT INTO vault_db.audit VALUES (NEW.id, 'insert');
      INSERT INTO vault_db.items (name, payload) VALUES ('ünïcode ✓', x'00ff10'), ('second', NULL);
      CREATE VIEW vault_db.names AS SELECT name FROM vault_db.items;
      CREATE PROCEDURE vault_db.item_count() SELECT count(*) FROM vault_db.items;
      CREATE EVENT vault_db.cleanup ON SCHEDULE EVERY 1 DAY DO DELETE FROM vault_db.audit WHERE item < 0;`,
    fingerprintSql: `SELECT id, name, HEX(payload) FROM vault_db.items ORDER BY id;
      SELECT * FROM vault_db.audit ORDER BY item;
      SELECT * FROM vault_db.names ORDER BY name;
      CALL vault_db.item_count();
      SELECT event_name FROM information_schema.events WHERE event_schema = 'vault_db';
      SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = 'vault_db';
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'vault_db' ORDER BY 1;`,
    ownersSql: `SELECT definer FROM information_schema.views WHERE table_schema = 'vault_db'
      UNION ALL SELECT definer FROM information_schema.triggers WHERE trigger_schema = 'vault_db'
      UNION ALL SELECT definer FROM information_schema.routines WHERE routine_schema = 'vault_db'
      UNION ALL SELECT definer FROM information_schema.events WHERE event_schema = 'vault_db';`,
    owners: "vault@%\nvault@%\nvault@%\nvault@%\n",
    emptySql: `DROP VIEW vault_db.names; DROP TABLE vault_db.items, vault_db.audit;
      DROP PROCEDURE vault_db.item_count; DROP EVENT vault_db.cleanup;`,
    straySql: "INSERT INTO vault_db.items (name) VALUES ('written by the dead restore')",
    notesSql: "CREATE TABLE notes.notes (body text); INSERT INTO notes.notes VALUES ('kept');",
    async serverDump(dir) {
      const dump = await readFile(join(dir, "databases.sql"), "utf8");
      const names = [...dump.matchAll(/^-- Current Database: `(.*)`$/gm)].map((m) => m[1] as string);
      return { databases: [...new Set(names)], roles: await readFile(join(dir, "users.sql"), "utf8") };
    },
    serverOwn: [],
    markSql: (database) =>
      `SELECT schema_comment FROM information_schema.schemata WHERE schema_name = '${database}'`,
    mark: () => appBackupComment,
    markerTable: true,
  },
];
// MySQL's hooks share MariaDB's logic and run here against MariaDB (no MySQL server on these
// machines) with the MySQL names of its tools; their marks are a list of the platform's.
const mariadb = kinds.find((spec) => spec.kind === "mariadb") as Engine;
kinds.push({
  ...mariadb,
  kind: "mysql",
  skip: skipReason(
    [...resticTools, "mysql", "mysqldump", "mariadb-install-db"],
    mariadbdPath() ? [] : ["the MariaDB server (mariadbd)"],
  ),
  markSql: (database) => `SELECT name FROM homelab.databases_backed_up_by_apps WHERE name = '${database}'`,
  mark: (database) => database,
});

describe("an app's own database, backed up and restored with its volume in the app's repository", {
  concurrency: 2,
}, () => {
  for (const spec of kinds) {
    const files = engines[spec.kind].files;

    describe(`on ${spec.kind}`, { skip: spec.skip, concurrency: 1 }, () => {
      let box: ResticSandbox;
      let original: DatabaseServer;
      let fresh: DatabaseServer;
      const passwordFiles: Record<string, string> = {};
      /** The app's volume (a directory moved from pod to pod, as a volume is mounted by each job). */
      let volume: string;
      let firstPod: string;
      let expectedTree: TreeEntry[];
      let fingerprint: string;
      let firstRestore: RunResult;
      /** The server's own backups, before and after the app's database was marked. */
      let serverDumpBefore: string;
      let serverDumpAfter: string;
      let pods = 0;

      const asApp = (server: DatabaseServer, sql: string) =>
        server.sql(sql, { ...app, database: app.database });
      const asAdmin = (server: DatabaseServer, sql: string) => server.sql(sql, server.admin);

      /** What the app's database job runs (create-database.sh as the admin). */
      async function createDatabase(
        server: DatabaseServer,
        target: { database: string; user: string; password: string },
        backup?: "app" | "server",
      ): Promise<void> {
        const result = await run("bash", [script(files.createDatabase)], {
          env: {
            PATH: process.env.PATH,
            DB_HOST: "127.0.0.1",
            DB_PORT: String(server.port),
            DB_USER: server.admin.user,
            DB_ADMIN_PASSWORD: server.admin.password,
            APP_DATABASE: target.database,
            APP_USER: target.user,
            APP_PASSWORD: target.password,
            ...(backup ? { APP_DATABASE_BACKUP: backup } : {}),
          },
        });
        assert.equal(result.code, 0, result.stderr);
      }

      /** The job pair's variables for the app: its volume, its database, its own account. */
      function appEnv(server: DatabaseServer, pod: string, extra: Record<string, string> = {}) {
        return box.env("vault", {
          BACKUP_DIR: pod,
          BACKUP_VOLUMES: "data",
          DB_DATABASES: app.database,
          ...server.connectionEnv(app.user, passwordFiles.app as string),
          ...extra,
        });
      }

      function restoreEnv(pod: string) {
        return appEnv(fresh, pod, {
          RESTORE_PRESENT_HOOK: script(files.present),
          RESTORE_HOOK: script(files.restore),
        });
      }

      /** The server's own backup hook (DB_DATABASES=all, as the admin) into a new directory. */
      async function serverBackup(server: DatabaseServer, name: string): Promise<string> {
        const dir = await box.dir(name);
        const result = await run("bash", [script(files.backup)], {
          env: {
            PATH: process.env.PATH,
            BACKUP_DIR: dir,
            ...server.connectionEnv(server.admin.user, passwordFiles.admin as string),
          },
        });
        assert.equal(result.code, 0, result.stderr);
        return dir;
      }

      /** A new pod's scratch directory with the app's volume mounted in it as `data`. */
      async function mountVolumeInNewPod(): Promise<string> {
        const pod = await box.dir(`pod-${++pods}`);
        await rename(volume, join(pod, "data"));
        volume = join(pod, "data");
        return pod;
      }

      const tablesOfApp = async () =>
        spec.kind === "postgresql"
          ? asApp(fresh, "SELECT count(*) FROM pg_tables WHERE schemaname = 'vault'")
          : asApp(fresh, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'vault_db'");

      before(async () => {
        box = await ResticSandbox.create();
        for (const [name, password] of [
          ["admin", "admin password"],
          ["app", app.password],
        ] as const) {
          passwordFiles[name] = join(box.root, `${name}-password`);
          await writeFile(passwordFiles[name] as string, password);
        }
        original = await startDatabaseServer(spec.kind, await box.dir("original"), "admin password");
        // An app that had its database before apps backed theirs up: not marked yet.
        await createDatabase(original, app);
        await createDatabase(original, notes);
        await asApp(original, spec.seedSql);
        await original.sql(spec.notesSql, { ...notes, database: notes.database });
        serverDumpBefore = await serverBackup(original, "server-dump-before");
        // The app now backs its database up itself: its database job runs again.
        await createDatabase(original, app, "app");

        // The app's volume: nested files, and a cache the backup leaves out.
        firstPod = await box.dir("app-pod");
        volume = await box.dir("app-pod/data");
        await box.dir("app-pod/data/attachments/1/nested");
        await box.dir("app-pod/data/icon_cache/large");
        await writeFile(join(volume, "config.json"), '{"domain":"https://vault.example"}\n');
        await writeFile(join(volume, "attachments", "1", "photo.bin"), Buffer.from([0, 1, 254, 255]));
        await writeFile(join(volume, "attachments", "1", "nested", "note.txt"), "ünïcode\n");
        await writeFile(join(volume, "icon_cache", "large", "example.png"), "cached icon");
        expectedTree = (await describeTree(volume)).filter((entry) => !entry.path.startsWith("icon_cache"));
        fingerprint = await asApp(original, spec.fingerprintSql);

        // The scheduled backup, while the server serves, with the app's account only.
        const backup = await box.script(
          "backup.sh",
          appEnv(original, firstPod, {
            BACKUP_HOOK: script(files.backup),
            BACKUP_EXCLUDE: "data/icon_cache",
          }),
        );
        assert.equal(backup.code, 0, backup.stderr);
        serverDumpAfter = await serverBackup(original, "server-dump-after");

        // A new cluster: a fresh server where the app's database job made the app's database
        // (empty) and account, and a fresh volume.
        fresh = await startDatabaseServer(spec.kind, await box.dir("fresh"), "admin password");
        await createDatabase(fresh, app, "app");
        firstPod = await box.dir("restore-pod");
        volume = await box.dir("restore-pod/data");
        firstRestore = await box.script("restore.sh", restoreEnv(firstPod));
      });

      after(async () => {
        await original?.stop();
        await fresh?.stop();
        await box?.cleanup();
      });

      it("restores the app's files and rows onto a fresh server and volume with the app's own account", async () => {
        assert.equal(firstRestore.code, 0, firstRestore.stderr);
        assert.match(firstRestore.stderr, /restore finished/);
        assert.equal(await asApp(fresh, spec.fingerprintSql), fingerprint);
        assert.deepEqual(await describeTree(volume), expectedTree);
        assert.equal(existsSync(join(volume, "icon_cache")), false);
        assert.equal(existsSync(join(volume, ".restore-in-progress")), false);
      });

      it("leaves the app's account the owner of what it restored, and able to create no database", async () => {
        assert.equal(await asApp(fresh, spec.ownersSql), spec.owners);
        const created = await fresh.trySql("CREATE DATABASE another_app", { ...app, database: app.database });
        assert.notEqual(created.code, 0);
      });

      it("skips a second restore, touching nothing, when the volume and the database both hold data", async () => {
        const pod = await mountVolumeInNewPod();
        const result = await box.script("restore.sh", restoreEnv(pod));
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /data already present: skipping the restore/);
        assert.deepEqual(await describeTree(volume), expectedTree);
        assert.equal(await asApp(fresh, spec.fingerprintSql), fingerprint);
        assert.deepEqual(await readdir(pod), ["data"]);
      });

      it("fails, touching nothing, when the database holds data and the volume is empty", async () => {
        const pod = await box.dir(`pod-${++pods}`);
        await mkdir(join(pod, "data"));
        const result = await box.script("restore.sh", restoreEnv(pod));
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          /only part of the app's data is there: the database holds data, volume data holds none/,
        );
        assert.deepEqual(await readdir(pod, { recursive: true }), ["data"]);
        assert.equal(await asApp(fresh, spec.fingerprintSql), fingerprint);
      });

      if (spec.markerTable) {
        it("refuses to say whether data is present, or to back up, while a restore into the database is unfinished", async () => {
          await asApp(fresh, "CREATE TABLE vault_db.homelab_restore_in_progress (started timestamp)");
          try {
            const present = await run("bash", [script(files.present)], { env: restoreEnv(firstPod) });
            assert.notEqual(present.code, 0);
            assert.equal(present.stdout, "");
            assert.match(
              present.stderr,
              /database vault_db holds table homelab_restore_in_progress: a restore into it did not finish/,
            );
            const pod = await mountVolumeInNewPod();
            const backup = await box.script(
              "backup.sh",
              appEnv(fresh, pod, { BACKUP_HOOK: script(files.backup) }),
            );
            assert.notEqual(backup.code, 0);
            assert.match(backup.stderr, /a restore into it did not finish/);
          } finally {
            await asApp(fresh, "DROP TABLE vault_db.homelab_restore_in_progress");
          }
        });
      }

      it("fails, touching nothing, when the volume holds data and the database was emptied", async () => {
        await asApp(fresh, spec.emptySql);
        const pod = await mountVolumeInNewPod();
        const result = await box.script("restore.sh", restoreEnv(pod));
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          /only part of the app's data is there: volume data holds data, the database holds none/,
        );
        assert.deepEqual(await describeTree(volume), expectedTree);
        assert.equal((await tablesOfApp()).trim(), "0");
      });

      it("retries a restore that died after writing the files and loading the database, to the same end", async () => {
        // The dead restore's state: files partly rewritten, the marker in the volume, the database
        // loaded (and, for MariaDB, its marker table still there) with a row of its own.
        const loaded = await run("bash", [script(files.restore)], { env: restoreEnv(firstPod) });
        assert.equal(loaded.code, 0, loaded.stderr);
        if (spec.markerTable) {
          await asApp(fresh, "CREATE TABLE vault_db.homelab_restore_in_progress (started timestamp)");
        }
        await asApp(fresh, spec.straySql);
        const pod = await mountVolumeInNewPod();
        await writeFile(join(volume, ".restore-in-progress"), "");
        await writeFile(join(volume, "config.json"), "half-writ");
        await rm(join(volume, "attachments", "1", "nested"), { recursive: true });

        const result = await box.script("restore.sh", restoreEnv(pod));
        assert.equal(result.code, 0, result.stderr);
        assert.match(
          result.stderr,
          /a previous restore into volume data did not finish: it starts over, and the restore hook replaces what it loaded/,
        );
        assert.deepEqual(await describeTree(volume), expectedTree);
        assert.equal(await asApp(fresh, spec.fingerprintSql), fingerprint);
        assert.equal(existsSync(join(volume, ".restore-in-progress")), false);
      });

      it("marks the app's database so that the server's own backup leaves it out, keeping the others and the roles", async () => {
        for (const server of [original, fresh]) {
          assert.equal((await asAdmin(server, spec.markSql(app.database))).trim(), spec.mark(app.database));
        }
        assert.equal((await asAdmin(original, spec.markSql(notes.database))).trim(), "");
        const before = await spec.serverDump(serverDumpBefore);
        const after = await spec.serverDump(serverDumpAfter);
        assert.deepEqual(before.databases.sort(), [notes.database, ...spec.serverOwn, app.database].sort());
        assert.deepEqual(after.databases.sort(), [notes.database, ...spec.serverOwn].sort());
        for (const user of [app.user, notes.user]) assert.match(after.roles, new RegExp(`\\b${user}\\b`));
      });

      it("keeps a server restore from loading an app's database that the server marks, loading the others", async () => {
        // An old server snapshot that still holds the app's database, restored under the app.
        const result = await run("bash", [script(files.restore)], {
          env: {
            PATH: process.env.PATH,
            BACKUP_DIR: serverDumpBefore,
            ...fresh.connectionEnv(fresh.admin.user, passwordFiles.admin as string),
          },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.match(
          result.stderr,
          /database vault_db is backed up by its app: left as it is|backed up by their apps, left as they are: vault_db/,
        );
        assert.equal(await asApp(fresh, spec.fingerprintSql), fingerprint);
        const kept = await fresh.sql(
          spec.kind === "postgresql" ? "SELECT body FROM notes" : "SELECT body FROM notes.notes",
          { ...fresh.admin, database: notes.database },
        );
        assert.equal(kept, "kept\n");
      });
    });
  }
});
