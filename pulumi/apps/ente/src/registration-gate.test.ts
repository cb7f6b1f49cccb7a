import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type DatabaseServer,
  postgresBinDir,
  startDatabaseServer,
} from "@infra/databases/src/testing/db-servers";
import { missingBinaries, run } from "@infra/restic/src/testing/restic-sandbox";
import { enteScriptsDir } from "./ente";

/**
 * The registration gate of Ente's museum pod, as its ConfigMap ships it (ente.test.ts checks that
 * the rendered script is this file), run for real against a real PostgreSQL holding the tables
 * museum creates, with the pod's variables.
 */
const script = join(enteScriptsDir, "registration-gate.sh");
const missing = [
  ...missingBinaries(["bash", "psql"]),
  ...(postgresBinDir() ? [] : ["the PostgreSQL server (initdb)"]),
];
const password = "ente database password";

describe("Ente's registration gate, against museum's database", {
  skip: missing.length > 0 ? `needs ${missing.join(", ")}` : false,
}, () => {
  let dir: string;
  let server: DatabaseServer;
  let gates = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "ente-gate-"));
    server = await startDatabaseServer("postgresql", join(dir, "postgres"), password);
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const sql = (statement: string) => server.sql(statement, { user: "postgres", password });
  const environment = (gate: string, port = server.port) => ({
    PATH: process.env.PATH,
    GATE_DIR: gate,
    GATE_INTERVAL: "1",
    PGHOST: "127.0.0.1",
    PGPORT: String(port),
    PGDATABASE: "postgres",
    PGUSER: "postgres",
    PGPASSWORD: password,
    PGSSLMODE: "disable",
  });
  const gateDir = () => mkdtempSync(join(dir, `gate-${++gates}-`));
  const once = (gate: string, port?: number) =>
    run("bash", [script, "once"], { env: environment(gate, port) });

  it("keeps sign-up open while museum has not created its tables, and while no account finished its setup", async () => {
    const gate = gateDir();
    const beforeTables = await once(gate);
    assert.equal(beforeTables.code, 0, beforeTables.stderr);
    assert.equal(existsSync(join(gate, "close")), false);
    // Museum's own tables (server/migrations/1_create_tables.up.sql): a user who has not chosen
    // a password yet has a users row and no key_attributes.
    await sql(`CREATE TABLE users (user_id SERIAL PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT, creation_time BIGINT NOT NULL);
      CREATE TABLE key_attributes (user_id INTEGER PRIMARY KEY REFERENCES users(user_id), kek_salt TEXT NOT NULL);
      INSERT INTO users (email, creation_time) VALUES ('first@example.com', 1);`);
    const withoutAccount = await once(gate);
    assert.equal(withoutAccount.code, 0, withoutAccount.stderr);
    assert.equal(existsSync(join(gate, "close")), false);
    assert.match(withoutAccount.stderr, /no account yet: sign-up stays open/);
  });

  it("closes sign-up once the first account exists, before museum starts, and keeps it closed", async () => {
    await sql(
      "INSERT INTO key_attributes (user_id, kek_salt) SELECT user_id, 'salt' FROM users WHERE email = 'first@example.com';",
    );
    const gate = gateDir();
    const result = await once(gate);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(join(gate, "close")), true);
    assert.match(result.stderr, /the first account exists: sign-up closes/);
    // Decided once per pod: a later check changes nothing, whatever the database says.
    await sql("DELETE FROM key_attributes;");
    assert.equal((await once(gate)).code, 0);
    assert.equal(existsSync(join(gate, "close")), true);
  });

  it("watches beside museum and closes sign-up within its interval of the first account, then stays up idle", async () => {
    const gate = gateDir();
    const watch = spawn("bash", [script, "watch"], { env: environment(gate), stdio: "ignore" });
    try {
      await sleep(1500);
      assert.equal(existsSync(join(gate, "close")), false, "closed before any account exists");
      await sql("INSERT INTO key_attributes (user_id, kek_salt) SELECT user_id, 'salt' FROM users;");
      for (let waited = 0; !existsSync(join(gate, "close")) && waited < 10_000; waited += 200)
        await sleep(200);
      assert.equal(existsSync(join(gate, "close")), true);
      await sleep(500);
      // The kubelet restarts a sidecar that exits, over and over: it idles instead.
      assert.equal(watch.exitCode, null);
    } finally {
      watch.kill();
    }
  });

  it("fails, without closing anything, when the database cannot be asked, so museum does not start on a guess", async () => {
    const gate = gateDir();
    const result = await once(gate, 1);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the database could not be asked/);
    assert.equal(existsSync(join(gate, "close")), false);
  });
});
