import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { missingBinaries, run } from "@infra/restic/src/testing/restic-sandbox";
import { databaseScriptsDir, engines } from "./engines";
import { MariadbServer, mariadbdPath, PostgresServer, postgresBinDir } from "./testing/db-servers";
import { connectionUrl } from "./url";

function skipReason(binaries: string[], extra: string[] = []): string | false {
  const missing = [...missingBinaries(binaries), ...extra];
  return missing.length > 0 ? `needs ${missing.join(", ")}, not installed` : false;
}

// The comment that leaves a database out of the server's own backup (its app backs it up).
const appBackupComment = "homelab: backed up by its app";

/**
 * Runs the script with each APP_DATABASE_BACKUP in turn (undefined: unset) and returns what
 * `comment` reads of the database's mark (its comment, or MySQL's list) after each run.
 */
async function commentsAfterRuns(
  file: string,
  connection: Record<string, string>,
  comment: () => Promise<string>,
  runs: (string | undefined)[],
): Promise<string[]> {
  const app = { database: "marked_app", user: "marked", password: "marked password" };
  const comments: string[] = [];
  for (const backup of runs) {
    const env = backup === undefined ? connection : { ...connection, APP_DATABASE_BACKUP: backup };
    const result = await createDatabase(file, env, app);
    assert.equal(result.code, 0, result.stderr);
    comments.push((await comment()).trim());
  }
  return comments;
}

// Names and passwords with every character that needs quoting in SQL, in URLs or in the shell.
const awkward = {
  database: `shop's "data"; DROP DATABASE x; --`,
  user: `app user:@/?#%`,
  password: `p@ss:w/rd?#'"\\ $(x) %41`,
};

function createDatabase(
  file: string,
  connection: Record<string, string>,
  app: { database: string; user: string; password: string },
) {
  return run("bash", [join(databaseScriptsDir, file)], {
    env: {
      PATH: process.env.PATH,
      ...connection,
      APP_DATABASE: app.database,
      APP_USER: app.user,
      APP_PASSWORD: app.password,
    },
  });
}

describe("postgresql-create-database.sh", {
  skip: skipReason(["bash", "psql"], postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"]),
}, () => {
  const superuserPassword = "superuser password";
  let dir: string;
  let server: PostgresServer;
  let connection: Record<string, string>;

  /** Runs SQL through the app's connection URL, as the app's driver would connect. */
  const asApp = (app: { database: string; user: string; password: string }, sql: string) =>
    run(
      "psql",
      [
        "--no-psqlrc",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
        connectionUrl({ scheme: "postgresql", host: "127.0.0.1", port: server.port, ...app }),
      ],
      { env: { PATH: process.env.PATH } },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "create-database-pg-"));
    server = await PostgresServer.start(join(dir, "server"), superuserPassword);
    connection = {
      DB_HOST: "127.0.0.1",
      DB_PORT: String(server.port),
      DB_USER: "postgres",
      DB_ADMIN_PASSWORD: superuserPassword,
    };
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a database and role that the app reaches through its connection URL", async () => {
    const created = await createDatabase(engines.postgresql.files.createDatabase, connection, awkward);
    assert.equal(created.code, 0, created.stderr);
    const result = await asApp(
      awkward,
      "SELECT current_user, current_database(); CREATE TABLE notes (body text)",
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split("\n")[0], `${awkward.user}|${awkward.database}`);
  });

  it("runs again without failing, keeping the data and setting the new password", async () => {
    const rotated = { ...awkward, password: "a new password" };
    const again = await createDatabase(engines.postgresql.files.createDatabase, connection, rotated);
    assert.equal(again.code, 0, again.stderr);
    assert.notEqual((await asApp(awkward, "SELECT 1")).code, 0);
    const result = await asApp(rotated, "SELECT count(*) FROM notes");
    assert.equal(result.code, 0, result.stderr);
  });

  it("keeps other apps' roles out of the app's database", async () => {
    const other = { database: "other", user: "other", password: "other password" };
    assert.equal((await createDatabase(engines.postgresql.files.createDatabase, connection, other)).code, 0);
    const intruder = await asApp({ ...other, database: awkward.database }, "SELECT 1");
    assert.notEqual(intruder.code, 0);
    assert.match(intruder.stderr, /permission denied for database/);
  });

  it("marks the database as backed up by its app with APP_DATABASE_BACKUP=app, idempotently, and unmarks it otherwise", async () => {
    const file = engines.postgresql.files.createDatabase;
    const comment = () =>
      server.sql(
        "postgres",
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = 'marked_app'",
        superuserPassword,
      );
    assert.deepEqual(
      await commentsAfterRuns(file, connection, comment, ["app", "app", undefined, "app", "server"]),
      [appBackupComment, appBackupComment, "", appBackupComment, ""],
    );
    await server.sql("postgres", "COMMENT ON DATABASE marked_app IS 'written by hand'", superuserPassword);
    assert.deepEqual(await commentsAfterRuns(file, connection, comment, ["server"]), ["written by hand"]);
    const invalid = await createDatabase(file, { ...connection, APP_DATABASE_BACKUP: "both" }, awkward);
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /APP_DATABASE_BACKUP must be 'server' or 'app', got 'both'/);
  });

  it("does not show the passwords in its output", async () => {
    const created = await createDatabase(engines.postgresql.files.createDatabase, connection, {
      ...awkward,
      password: "a new password",
    });
    assert.doesNotMatch(created.stdout + created.stderr, /a new password|superuser password/);
  });
});

/**
 * MariaDB's and MySQL's. There is no MySQL server here: MySQL's runs against MariaDB with the MySQL
 * name of its client, and root as the admin, as in the mysql image. MySQL's marks live in a table of
 * the platform's (MySQL has no database comments).
 */
const mysqlFamily = [
  {
    kind: "mariadb",
    admin: "admin",
    client: "mariadb",
    /** Prints 1 when the database is marked as backed up by its app, else 0. */
    markedSql: (database: string) =>
      `SELECT schema_comment = '${appBackupComment}' FROM information_schema.schemata
        WHERE schema_name = '${database}'`,
  },
  {
    kind: "mysql",
    admin: "root",
    client: "mysql",
    markedSql: (database: string) =>
      `SELECT count(*) FROM homelab.databases_backed_up_by_apps WHERE name = '${database}'`,
  },
] as const;

for (const spec of mysqlFamily) {
  const file = engines[spec.kind].files.createDatabase;

  describe(file, {
    skip: skipReason(["bash", spec.client], mariadbdPath() ? [] : ["the MariaDB server (mariadbd)"]),
  }, () => {
    const admin = { user: spec.admin, password: `admin "pass" \\ word` };
    let dir: string;
    let server: MariadbServer;
    let connection: Record<string, string>;

    /** Runs SQL as the app, with the user, password and database its URL carries, decoded. */
    const asApp = (app: { database: string; user: string; password: string }, sql: string) => {
      const url = new URL(connectionUrl({ scheme: "mysql", host: "127.0.0.1", port: server.port, ...app }));
      return run(
        spec.client,
        [
          ...server.clientArgs(decodeURIComponent(url.username)),
          "--batch",
          "-N",
          `--database=${decodeURIComponent(url.pathname.slice(1))}`,
        ],
        { env: { PATH: process.env.PATH, MYSQL_PWD: decodeURIComponent(url.password) }, input: sql },
      );
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `create-database-${spec.kind}-`));
      server = await MariadbServer.start(join(dir, "server"), admin);
      connection = {
        DB_HOST: "127.0.0.1",
        DB_PORT: String(server.port),
        DB_USER: admin.user,
        DB_ADMIN_PASSWORD: admin.password,
      };
    });
    after(async () => {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("creates a database and account that the app reaches with what its connection URL carries", async () => {
      const created = await createDatabase(file, connection, awkward);
      assert.equal(created.code, 0, created.stderr);
      const result = await asApp(
        awkward,
        "SELECT CURRENT_USER(), DATABASE(); CREATE TABLE notes (body text);",
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.split("\n")[0], `${awkward.user}@%\t${awkward.database}`);
    });

    it("runs again without failing, keeping the data and setting the new password", async () => {
      const rotated = { ...awkward, password: "a new password" };
      const again = await createDatabase(file, connection, rotated);
      assert.equal(again.code, 0, again.stderr);
      assert.notEqual((await asApp(awkward, "SELECT 1")).code, 0);
      assert.equal((await asApp(rotated, "SELECT count(*) FROM notes")).code, 0);
    });

    it("marks the database as backed up by its app with APP_DATABASE_BACKUP=app, idempotently, and unmarks it otherwise", async () => {
      const marked = () => server.sql(spec.markedSql("marked_app"), admin.user, admin.password);
      assert.deepEqual(
        await commentsAfterRuns(file, connection, marked, ["app", "app", undefined, "app", "server"]),
        ["1", "1", "0", "1", "0"],
      );
      const invalid = await createDatabase(file, { ...connection, APP_DATABASE_BACKUP: "both" }, awkward);
      assert.notEqual(invalid.code, 0);
      assert.match(invalid.stderr, /APP_DATABASE_BACKUP must be 'server' or 'app', got 'both'/);
    });

    it("grants the account its own database only, even when the name holds wildcard characters", async () => {
      const shop = { database: "shop_data", user: "shop", password: "shop password" };
      assert.equal((await createDatabase(file, connection, shop)).code, 0);
      await server.sql("CREATE DATABASE shopXdata", admin.user, admin.password);
      const denied = await asApp({ ...shop, database: "shopXdata" }, "SELECT 1");
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /Access denied/);
      assert.equal((await asApp(shop, "SELECT 1")).code, 0);
    });

    it("leaves a database comment that is not the mark as it is", {
      skip: spec.kind === "mysql" && "MySQL has no database comments",
    }, async () => {
      const comment = () =>
        server.sql(
          "SELECT schema_comment FROM information_schema.schemata WHERE schema_name = 'marked_app'",
          admin.user,
          admin.password,
        );
      await server.sql("ALTER DATABASE marked_app COMMENT = 'written by hand'", admin.user, admin.password);
      assert.deepEqual(await commentsAfterRuns(file, connection, comment, ["server"]), ["written by hand"]);
    });
  });
}
