import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { missingBinaries, ResticSandbox, run } from "@infra/restic/src/testing/restic-sandbox";
import { engines } from "./engines";
import {
  databaseScriptsDir,
  MariadbServer,
  mariadbdPath,
  PostgresServer,
  postgresBinDir,
} from "./testing/db-servers";

const hook = (name: string) => join(databaseScriptsDir, name);

function skipReason(binaries: string[], extra: string[] = []): string | false {
  const missing = [...missingBinaries(binaries), ...extra];
  return missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;
}

const resticTools = ["bash", "restic", "rclone"];
const postgresSkip = skipReason(
  [...resticTools, "psql", "pg_dump", "pg_dumpall", "pg_restore"],
  postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"],
);
/**
 * The MariaDB and MySQL hooks share their logic; there is no MySQL server here, so MySQL's run
 * against MariaDB with the MySQL names of its tools, and root as the admin (as in the mysql image,
 * where root is the admin the hooks use and leave out of the dump of accounts).
 */
const mysqlFamily = [
  { kind: "mariadb", name: "MariaDB", admin: "admin", client: "mariadb", dump: "mariadb-dump" },
  { kind: "mysql", name: "MySQL", admin: "root", client: "mysql", dump: "mysqldump" },
] as const;

/** Resolves once `check` holds, polling; the writer tests wait for rows to pile up. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

describe("PostgreSQL backup, present and restore hooks", { skip: postgresSkip }, () => {
  const oldPassword = "old superuser password";
  const newPassword = "new 'superuser' password";
  let box: ResticSandbox;
  let newPasswordFile: string;
  let original: PostgresServer;
  let fresh: PostgresServer;
  let snapshotBefore: string;
  let rowsWhenWriterStopped: number;
  let firstRestore: Awaited<ReturnType<ResticSandbox["script"]>>;

  const fingerprintSql = `
    SELECT id, name, encode(payload, 'hex'), created FROM items ORDER BY id;
    SELECT * FROM item_names;
    SELECT last_value FROM items_id_seq;`;
  const fingerprint = async (server: PostgresServer, password: string) =>
    (await server.sql("appdb", fingerprintSql, password)) +
    (await server.sql("notes", "SELECT * FROM notes", password));

  before(async () => {
    box = await ResticSandbox.create();
    const oldPasswordFile = join(box.root, "old-password");
    newPasswordFile = join(box.root, "new-password");
    await writeFile(oldPasswordFile, oldPassword);
    await writeFile(newPasswordFile, newPassword);

    original = await PostgresServer.start(await box.dir("pg-original"), oldPassword);
    await original.sql("postgres", "CREATE ROLE app LOGIN PASSWORD 'app password'", oldPassword);
    await original.sql("postgres", "CREATE DATABASE appdb OWNER app", oldPassword);
    await original.sql("postgres", "CREATE DATABASE notes", oldPassword);
    await original.sql(
      "appdb",
      `SET ROLE app;
       CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, payload bytea, created timestamptz);
       INSERT INTO items (name, payload, created) VALUES
         ('ünïcode ✓', '\\x00ff10', '2024-02-29 12:00:00+00'), ('second', NULL, NULL);
       CREATE VIEW item_names AS SELECT name FROM items ORDER BY name;
       CREATE TABLE debits (id bigint PRIMARY KEY);
       CREATE TABLE credits (id bigint PRIMARY KEY);
       CREATE TABLE control (stop boolean NOT NULL);
       INSERT INTO control VALUES (false);`,
      oldPassword,
    );
    await original.sql(
      "notes",
      "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('kept')",
      oldPassword,
    );
    snapshotBefore = await fingerprint(original, oldPassword);

    // Transfers that each write both tables in one transaction, going on during the dump.
    const writer = spawn("psql", [...original.psqlArgs("appdb", "postgres"), "-q", "-f", "-"], {
      env: { PATH: process.env.PATH, PGPASSWORD: oldPassword },
      stdio: ["pipe", "ignore", "ignore"],
    });
    writer.stdin?.end(`DO $$ DECLARE i bigint := 0; BEGIN
        WHILE NOT (SELECT stop FROM control) LOOP
          i := i + 1; INSERT INTO debits VALUES (i); INSERT INTO credits VALUES (i); COMMIT;
        END LOOP; END $$;`);
    const countDebits = async () =>
      Number(await original.sql("appdb", "SELECT count(*) FROM debits", oldPassword));
    await until(async () => (await countDebits()) > 500, "the writer to start");

    const scratch = await box.dir("dump");
    const backup = await box.script(
      "backup.sh",
      box.env("postgres", {
        BACKUP_DIR: scratch,
        BACKUP_HOOK: hook("postgresql-backup-hook.sh"),
        ...original.connectionEnv(oldPasswordFile),
      }),
    );
    await original.sql("appdb", "UPDATE control SET stop = true", oldPassword);
    await exited(writer);
    assert.equal(backup.code, 0, backup.stderr);
    rowsWhenWriterStopped = await countDebits();
    await original.stop();

    // A new cluster: an empty server whose superuser has another password.
    fresh = await PostgresServer.start(await box.dir("pg-fresh"), newPassword);
    firstRestore = await box.script("restore.sh", restoreEnv(await box.dir("restore-scratch")));
  });

  function restoreEnv(scratch: string): NodeJS.ProcessEnv {
    return box.env("postgres", {
      BACKUP_DIR: scratch,
      RESTORE_PRESENT_HOOK: hook("postgresql-present-hook.sh"),
      RESTORE_HOOK: hook("postgresql-restore-hook.sh"),
      ...fresh.connectionEnv(newPasswordFile),
    });
  }

  after(async () => {
    await original?.stop();
    await fresh?.stop();
    await box?.cleanup();
  });

  it("restores every database with its rows, views and sequences onto an empty server", async () => {
    assert.equal(firstRestore.code, 0, firstRestore.stderr);
    assert.equal(await fingerprint(fresh, newPassword), snapshotBefore);
  });

  it("brings back missing roles and the ownership of databases and tables", async () => {
    const restored = await fresh.sql(
      "appdb",
      `SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app';
       SELECT tableowner FROM pg_tables WHERE tablename = 'items';
       SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb';`,
      newPassword,
    );
    assert.equal(restored, "t\napp\napp\n");
  });

  it("leaves the password of a role that already existed unchanged", async () => {
    assert.equal((await fresh.trySql("postgres", "SELECT 1", newPassword)).code, 0);
    assert.notEqual((await fresh.trySql("postgres", "SELECT 1", oldPassword)).code, 0);
  });

  it("dumps one consistent snapshot while transactions go on", async () => {
    const counts = await fresh.sql(
      "appdb",
      "SELECT (SELECT count(*) FROM debits), (SELECT count(*) FROM credits)",
      newPassword,
    );
    const [debits, credits] = counts.trim().split("|").map(Number);
    assert.equal(debits, credits);
    assert.ok(
      (debits ?? 0) > 500 && (debits ?? 0) < rowsWhenWriterStopped,
      `${debits} of ${rowsWhenWriterStopped}`,
    );
  });

  it("dumps only the databases DB_DATABASES lists, without roles", async () => {
    const scratch = await box.dir("listed");
    const env = { PATH: process.env.PATH, BACKUP_DIR: scratch, DB_DATABASES: "notes, appdb" };
    const result = await run("bash", [hook("postgresql-backup-hook.sh")], {
      env: { ...env, ...fresh.connectionEnv(newPasswordFile) },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(scratch)).sort(), ["appdb.pgdump", "notes.pgdump"]);
  });

  it("neither answers absent nor dumps when the server rejects the password", async () => {
    const rejected = fresh.connectionEnv(join(box.root, "old-password"));
    const present = await run("bash", [hook("postgresql-present-hook.sh")], {
      env: { PATH: process.env.PATH, ...rejected },
    });
    assert.notEqual(present.code, 0);
    assert.equal(present.stdout.trim(), "");
    const scratch = await box.dir("rejected");
    const backup = await run("bash", [hook("postgresql-backup-hook.sh")], {
      env: { PATH: process.env.PATH, BACKUP_DIR: scratch, ...rejected },
    });
    assert.notEqual(backup.code, 0);
    assert.deepEqual(await readdir(scratch), []);
  });

  it("skips the restore when the server already holds data", async () => {
    const scratch = await box.dir("restore-again");
    const result = await box.script("restore.sh", restoreEnv(scratch));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /database appdb has \d+ relations: data present/);
    assert.match(result.stderr, /skipping the restore/);
    assert.deepEqual(await readdir(scratch), []);
  });

  it("refuses to restore or back up while an earlier restore is unfinished", async () => {
    await fresh.sql("postgres", "CREATE DATABASE homelab_restore_in_progress", newPassword);
    try {
      const scratch = await box.dir("after-crash");
      const restore = await box.script("restore.sh", restoreEnv(scratch));
      assert.notEqual(restore.code, 0);
      assert.match(restore.stderr, /a restore did not finish/);
      assert.deepEqual(await readdir(scratch), []);
      const backup = await box.script(
        "backup.sh",
        box.env("postgres", {
          BACKUP_DIR: scratch,
          BACKUP_HOOK: hook("postgresql-backup-hook.sh"),
          ...fresh.connectionEnv(newPasswordFile),
        }),
      );
      assert.notEqual(backup.code, 0);
      assert.match(backup.stderr, /a restore did not finish/);
    } finally {
      await fresh.sql("postgres", "DROP DATABASE homelab_restore_in_progress", newPassword);
    }
  });
});

for (const spec of mysqlFamily) {
  const files = engines[spec.kind].files;
  const mysqlFamilySkip = skipReason(
    [...resticTools, spec.client, spec.dump, "mariadb-install-db"],
    mariadbdPath() ? [] : ["the MariaDB server (mariadbd)"],
  );

  describe(`${spec.name} backup, present and restore hooks`, { skip: mysqlFamilySkip }, () => {
    const admin = spec.admin;
    const oldPassword = 'old "admin" pass\\word';
    const newPassword = "new admin password";
    let box: ResticSandbox;
    let newPasswordFile: string;
    let original: MariadbServer;
    let fresh: MariadbServer;
    let snapshotBefore: string;
    let rowsWhenWriterStopped: number;
    let firstRestore: Awaited<ReturnType<ResticSandbox["script"]>>;

    const fingerprintSql = `
    SELECT id, name, HEX(payload), created FROM app.items ORDER BY id;
    SELECT * FROM app.item_names;
    SELECT body FROM notes.notes;
    SHOW GRANTS FOR 'app'@'%';`;

    before(async () => {
      box = await ResticSandbox.create();
      const oldPasswordFile = join(box.root, "old-password");
      newPasswordFile = join(box.root, "new-password");
      await writeFile(oldPasswordFile, oldPassword);
      await writeFile(newPasswordFile, newPassword);

      original = await MariadbServer.start(await box.dir(`${spec.kind}-original`), {
        user: admin,
        password: oldPassword,
      });
      await original.sql(
        `CREATE DATABASE app CHARACTER SET utf8mb4;
       CREATE TABLE app.items (id int AUTO_INCREMENT PRIMARY KEY, name text NOT NULL, payload blob, created datetime);
       INSERT INTO app.items (name, payload, created) VALUES
         ('ünïcode ✓', x'00ff10', '2024-02-29 12:00:00'), ('second', NULL, NULL);
       CREATE VIEW app.item_names AS SELECT name FROM app.items ORDER BY name;
       CREATE TABLE app.debits (id bigint PRIMARY KEY) ENGINE=InnoDB;
       CREATE TABLE app.credits (id bigint PRIMARY KEY) ENGINE=InnoDB;
       CREATE TABLE app.control (stop boolean NOT NULL);
       INSERT INTO app.control VALUES (false);
       CREATE DATABASE notes;
       CREATE TABLE notes.notes (body text);
       INSERT INTO notes.notes VALUES ('kept');
       CREATE USER 'app'@'%' IDENTIFIED BY 'app password';
       GRANT ALL PRIVILEGES ON app.* TO 'app'@'%';`,
        admin,
        oldPassword,
      );
      snapshotBefore = await original.sql(fingerprintSql, admin, oldPassword);

      // Transfers that each write both tables in one transaction, going on during the dump.
      const writer = spawn(spec.client, [...original.clientArgs(admin), "--batch"], {
        env: { PATH: process.env.PATH, MYSQL_PWD: oldPassword },
        stdio: ["pipe", "ignore", "ignore"],
      });
      writer.stdin?.end(`DELIMITER //
      CREATE PROCEDURE app.churn() BEGIN
        DECLARE i bigint DEFAULT 0;
        WHILE NOT (SELECT stop FROM app.control) DO
          SET i = i + 1;
          START TRANSACTION; INSERT INTO app.debits VALUES (i); INSERT INTO app.credits VALUES (i); COMMIT;
        END WHILE;
      END //
      DELIMITER ;
      CALL app.churn();`);
      const countDebits = async () =>
        Number(await original.sql("SELECT count(*) FROM app.debits", admin, oldPassword));
      await until(async () => (await countDebits()) > 500, "the writer to start");

      const scratch = await box.dir("dump");
      const backup = await box.script(
        "backup.sh",
        box.env(spec.kind, {
          BACKUP_DIR: scratch,
          BACKUP_HOOK: hook(files.backup),
          ...original.connectionEnv(admin, oldPasswordFile),
        }),
      );
      await original.sql("UPDATE app.control SET stop = true", admin, oldPassword);
      await exited(writer);
      assert.equal(backup.code, 0, backup.stderr);
      rowsWhenWriterStopped = await countDebits();
      await original.stop();

      // A new cluster: an empty server whose admin account has another password.
      fresh = await MariadbServer.start(await box.dir(`${spec.kind}-fresh`), {
        user: admin,
        password: newPassword,
      });
      firstRestore = await box.script("restore.sh", restoreEnv(await box.dir("restore-scratch")));
    });

    function restoreEnv(scratch: string): NodeJS.ProcessEnv {
      return box.env(spec.kind, {
        BACKUP_DIR: scratch,
        RESTORE_PRESENT_HOOK: hook(files.present),
        RESTORE_HOOK: hook(files.restore),
        ...fresh.connectionEnv(admin, newPasswordFile),
      });
    }

    after(async () => {
      await original?.stop();
      await fresh?.stop();
      await box?.cleanup();
    });

    it("restores every database with its rows, views and the app's grants onto an empty server", async () => {
      assert.equal(firstRestore.code, 0, firstRestore.stderr);
      assert.equal(await fresh.sql(fingerprintSql, admin, newPassword), snapshotBefore);
    });

    it("brings back a missing account with its password", async () => {
      assert.equal(
        await fresh.sql("SELECT count(*) FROM app.items", "app", "app password").then((s) => s.trim()),
        "2",
      );
    });

    it("leaves the password of an account that already existed unchanged", async () => {
      assert.equal((await fresh.trySql("SELECT 1", admin, newPassword)).code, 0);
      assert.notEqual((await fresh.trySql("SELECT 1", admin, oldPassword)).code, 0);
    });

    it("dumps one consistent snapshot while transactions go on", async () => {
      const counts = await fresh.sql(
        "SELECT (SELECT count(*) FROM app.debits), (SELECT count(*) FROM app.credits)",
        admin,
        newPassword,
      );
      const [debits, credits] = counts.trim().split("\t").map(Number);
      assert.equal(debits, credits);
      assert.ok(
        (debits ?? 0) > 500 && (debits ?? 0) < rowsWhenWriterStopped,
        `${debits} of ${rowsWhenWriterStopped}`,
      );
    });

    it("dumps only the databases DB_DATABASES lists, without accounts", async () => {
      const scratch = await box.dir("listed");
      const env = { PATH: process.env.PATH, BACKUP_DIR: scratch, DB_DATABASES: "notes" };
      const result = await run("bash", [hook(files.backup)], {
        env: { ...env, ...fresh.connectionEnv(admin, newPasswordFile) },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(await readdir(scratch), ["databases.sql"]);
      const dump = await readFile(join(scratch, "databases.sql"), "utf8");
      assert.match(dump, /CREATE DATABASE .*`notes`/);
      assert.doesNotMatch(dump, /`app`/);
    });

    it("neither answers absent nor dumps when the server rejects the password", async () => {
      const rejected = fresh.connectionEnv(admin, join(box.root, "old-password"));
      const present = await run("bash", [hook(files.present)], {
        env: { PATH: process.env.PATH, ...rejected },
      });
      assert.notEqual(present.code, 0);
      assert.equal(present.stdout.trim(), "");
      assert.match(present.stderr, /Access denied/);
      const scratch = await box.dir("rejected");
      const backup = await run("bash", [hook(files.backup)], {
        env: { PATH: process.env.PATH, BACKUP_DIR: scratch, ...rejected },
      });
      assert.notEqual(backup.code, 0);
      assert.deepEqual(await readdir(scratch), []);
    });

    it("skips the restore when the server already holds data", async () => {
      const scratch = await box.dir("restore-again");
      const result = await box.script("restore.sh", restoreEnv(scratch));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /database app has \d+ tables: data present/);
      assert.match(result.stderr, /skipping the restore/);
      assert.deepEqual(await readdir(scratch), []);
    });

    it("refuses to restore or back up while an earlier restore is unfinished", async () => {
      await fresh.sql("CREATE DATABASE homelab_restore_in_progress", admin, newPassword);
      try {
        const scratch = await box.dir("after-crash");
        const restore = await box.script("restore.sh", restoreEnv(scratch));
        assert.notEqual(restore.code, 0);
        assert.match(restore.stderr, /a restore did not finish/);
        assert.deepEqual(await readdir(scratch), []);
        const backup = await box.script(
          "backup.sh",
          box.env(spec.kind, {
            BACKUP_DIR: scratch,
            BACKUP_HOOK: hook(files.backup),
            ...fresh.connectionEnv(admin, newPasswordFile),
          }),
        );
        assert.notEqual(backup.code, 0);
        assert.match(backup.stderr, /a restore did not finish/);
      } finally {
        await fresh.sql("DROP DATABASE homelab_restore_in_progress", admin, newPassword);
      }
    });
  });
}

describe("database hook scripts", { skip: skipReason(["shellcheck"]) }, () => {
  it("pass shellcheck", async () => {
    const scripts = (await readdir(databaseScriptsDir)).filter((name) => name.endsWith(".sh"));
    const result = await run("shellcheck", ["-x", ...scripts], {
      env: { PATH: process.env.PATH },
      cwd: databaseScriptsDir,
    });
    assert.equal(result.code, 0, result.stdout);
  });
});
