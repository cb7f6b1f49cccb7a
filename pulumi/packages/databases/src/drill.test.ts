import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
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
import {
  closedPort,
  missingBinaries,
  ResticSandbox,
  resticScriptsDir,
} from "@infra/restic/src/testing/restic-sandbox";
import { databaseScriptsDir, engines } from "./engines";
import { PostgresServer, postgresBinDir } from "./testing/db-servers";
import { nssWrapper, writeFakeEntrypoint } from "./testing/private-server";

/**
 * The restore drill of an app whose repository holds a dump of its own PostgreSQL database (as
 * vaultwarden's does): drill.sh restores the snapshot into scratch, starts a throwaway server of the
 * engine through the image's entrypoint (its stand-in) on a scratch data directory, creates the
 * app's database there with the engine's create-database script, loads the dump with the restore
 * hook and queries it with the present hook, all as the pod's user, with the variables
 * `drillHooks` renders.
 */

const missing = [
  ...missingBinaries(["bash", "restic", "rclone", "psql", "pg_dump", "pg_restore", "pg_isready", "setpriv"]),
  ...(postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"]),
  ...(nssWrapper ? [] : ["nss_wrapper (libnss-wrapper)"]),
];
const skip =
  missing.length > 0
    ? `needs ${missing.join(", ")}, not installed`
    : canSwitchUsers
      ? false
      : "needs root, to run the drill as its pod's user";

const engine = engines.postgresql;
const app = { database: "vault_db", user: "vault", password: "vault password" };
const adminPassword = "admin password";
const script = (name: string) => join(databaseScriptsDir, name);

describe("a restore drill of an app with its PostgreSQL database", { skip }, () => {
  // The app's pods run as the app's user; the drill's too.
  const user: PodUser = { uid: 1234, gid: 1234, fsGroup: 1234 };
  let box: ResticSandbox;
  let server: PostgresServer;
  let secretDir: string;
  let runs = 0;

  /** The hooks' connection to the app's real server, as the scheduled backup has it. */
  const appEnv = () => ({
    DB_HOST: "127.0.0.1",
    DB_PORT: String(server.port),
    DB_USER: app.user,
    DB_PASSWORD_FILE: join(secretDir, "password"),
    DB_DATABASES: app.database,
  });

  before(async () => {
    box = await ResticSandbox.create();
    await shareSandbox(box, user);
    server = await PostgresServer.start(join(box.root, "server"), adminPassword);
    await server.sql(
      "postgres",
      `CREATE ROLE ${app.user} LOGIN PASSWORD '${app.password}'; CREATE DATABASE ${app.database} OWNER ${app.user};`,
      adminPassword,
    );
    await server.sql(
      app.database,
      `CREATE TABLE items (id int PRIMARY KEY, name text);
       INSERT INTO items VALUES (1, 'ünïcode ✓'), (2, 'second');
       CREATE VIEW item_names AS SELECT name FROM items;`,
      app.password,
      app.user,
    );
    secretDir = await secretFiles(join(box.root, "app-secret"), { password: app.password }, user);
    const podDir = await kubeletDir(join(box.root, "pod"), user);
    await mkdir(join(podDir, "data"));
    await giveTo(join(podDir, "data"), user);
    const backup = await runAsPodUser(user, "bash", [join(resticScriptsDir, "backup.sh")], {
      env: box.env("vault", {
        BACKUP_DIR: podDir,
        BACKUP_VOLUMES: "data",
        BACKUP_HOOK: script(engine.files.backup),
        ...appEnv(),
      }),
    });
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(async () => {
    await server?.stop();
    await box?.cleanup();
  });

  /** Runs drill.sh with the drill's rendered variables (`drillHooks`), moved to this machine. */
  async function drill(overrides: Record<string, string> = {}) {
    const run = ++runs;
    const scratch = await kubeletDir(join(box.root, `scratch-${run}`), user);
    const data = await kubeletDir(join(box.root, `drill-data-${run}`), user);
    const runDir = await kubeletDir(join(box.root, `drill-run-${run}`), user);
    const home = join(box.root, `home-${run}`);
    await mkdir(home);
    await giveTo(home, user);
    const entrypoint = await writeFakeEntrypoint("postgresql", home, runDir);
    const passwordFile = join(runDir, "drill-admin-password");
    const env = box.env("vault", {
      HOME: home,
      BACKUP_DIR: scratch,
      BACKUP_VOLUMES: "data",
      RESTIC_CACHE_DIR: join(home, "cache"),
      DRILL_SERVER_START: script(engine.files.start),
      DRILL_SERVER_STOP: script(engine.files.stop),
      DRILL_PREPARE_HOOK: script(engine.files.createDatabase),
      DRILL_DATABASE_PASSWORD_FILE: passwordFile,
      RESTORE_HOOK: script(engine.files.restore),
      RESTORE_PRESENT_HOOK: script(engine.files.present),
      DB_HOST: "127.0.0.1",
      DB_PORT: String(await closedPort()),
      DB_USER: engine.adminUser,
      DB_PASSWORD_FILE: passwordFile,
      DB_DATABASES: app.database,
      DB_SERVER_SCRATCH: "true",
      APP_DATABASE: app.database,
      APP_USER: app.user,
      ...engine.serverEnv(passwordFile),
      PGDATA: join(data, "pgdata"),
      DB_SERVER_ENTRYPOINT: entrypoint,
      DB_PRIVATE_SERVER_PID_FILE: join(home, "private-server.pid"),
      ...overrides,
    });
    const result = await runAsPodUser(user, "bash", [join(resticScriptsDir, "drill.sh")], { env });
    return { ...result, pidFile: join(home, "private-server.pid"), scratch };
  }

  it("restores the snapshot, loads the dump into a throwaway server, queries it and stops it", async () => {
    const before = await server.sql(app.database, "SELECT count(*) FROM items", adminPassword);
    const result = await drill();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /as the snapshot says/);
    assert.match(result.stderr, /a throwaway server on a scratch data directory/);
    assert.match(result.stderr, /done: load the dump into the throwaway server/);
    assert.match(result.stderr, /database vault_db has \d+ relations: data present/);
    assert.match(result.stderr, /done: query the loaded database/);
    assert.match(result.stderr, /private server stopped/);
    assert.match(result.stderr, /drill passed/);
    assert.equal(existsSync(result.pidFile), false);
    assert.ok((await readdir(result.scratch)).includes(`${app.database}.pgdump`));
    // The app's real server is untouched.
    assert.equal(await server.sql(app.database, "SELECT count(*) FROM items", adminPassword), before);
  });

  it("fails naming the step when the dump does not load, and still stops the server", async () => {
    // A restore hook that cannot load anything: pg_restore of a dump that is not there.
    const result = await drill({ DB_DATABASES: "other_db", APP_DATABASE: "other_db" });
    assert.notEqual(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /FAILED: (load the dump into the throwaway server|query the loaded database)/,
    );
    assert.match(result.stderr, /private server stopped/);
    assert.doesNotMatch(result.stderr, /drill passed/);
  });
});
