import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { closedPort, type RunResult, run } from "@infra/restic/src/testing/restic-sandbox";
import type { DatabaseKind } from "../engines";

/** The directory of the database hooks. */
export const databaseScriptsDir = join(__dirname, "..", "..", "scripts");

const isRoot = process.getuid?.() === 0;

/** PostgreSQL's server programs: on PATH, or where Debian installs them (newest version). */
export function postgresBinDir(): string | undefined {
  const onPath = spawnSync("sh", ["-c", "command -v initdb"]).stdout?.toString().trim();
  if (onPath) return join(onPath, "..");
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : undefined;
}

/** A system program: on PATH, or in the sbin directories a non-login root shell may not have on PATH. */
function systemProgram(name: string): string | undefined {
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`])
    .stdout?.toString()
    .trim();
  if (onPath) return onPath;
  return ["/usr/sbin", "/sbin"].map((dir) => join(dir, name)).find((path) => existsSync(path));
}

export function mariadbdPath(): string | undefined {
  return systemProgram("mariadbd");
}

function expectSuccess(result: RunResult, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (${result.code}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A throwaway PostgreSQL server on a loopback port with password authentication. initdb refuses
 * to run as root, so as root the server runs as the `postgres` user the Debian package creates.
 */
export class PostgresServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly binDir: string,
  ) {}

  static async start(dir: string, superuserPassword: string): Promise<PostgresServer> {
    const binDir = postgresBinDir();
    if (!binDir) throw new Error("PostgreSQL server programs not found");
    await mkdir(dir, { recursive: true });
    const server = new PostgresServer(dir, await closedPort(), binDir);
    const passwordFile = join(dir, "initdb-password");
    await writeFile(passwordFile, `${superuserPassword}\n`);
    if (isRoot) {
      await letOthersTraverse(dirname(dir));
      await chown(dir, ...postgresIds());
      await chown(passwordFile, ...postgresIds());
    }
    expectSuccess(
      await server.asServerUser("initdb", [
        "--pgdata",
        server.dataDir,
        "--username",
        "postgres",
        "--auth",
        "scram-sha-256",
        "--pwfile",
        passwordFile,
        "--no-sync",
      ]),
      "initdb",
    );
    expectSuccess(
      await server.asServerUser("pg_ctl", [
        "--pgdata",
        server.dataDir,
        "--log",
        join(dir, "server.log"),
        "--wait",
        "-o",
        `-p ${server.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        "start",
      ]),
      "pg_ctl start",
    );
    return server;
  }

  get dataDir(): string {
    return join(this.dir, "data");
  }

  private asServerUser(program: string, args: string[]): Promise<RunResult> {
    const path = join(this.binDir, program);
    const env = { PATH: process.env.PATH, LC_ALL: "C.UTF-8" };
    return isRoot
      ? run(systemProgram("runuser") ?? "runuser", ["-u", "postgres", "--", path, ...args], {
          env,
          cwd: this.dir,
        })
      : run(path, args, { env, cwd: this.dir });
  }

  /** What the hooks need to connect (DB_* variables), with the given password file. */
  connectionEnv(passwordFile: string): Record<string, string> {
    return {
      DB_HOST: "127.0.0.1",
      DB_PORT: String(this.port),
      DB_USER: "postgres",
      DB_PASSWORD_FILE: passwordFile,
    };
  }

  psqlArgs(database: string, user: string): string[] {
    return ["--no-psqlrc", "-h", "127.0.0.1", "-p", String(this.port), "-U", user, "-d", database];
  }

  /** Runs SQL and returns psql's unaligned output; throws when it fails. */
  async sql(database: string, sql: string, password: string, user = "postgres"): Promise<string> {
    return expectSuccess(await this.trySql(database, sql, password, user), `psql ${sql}`);
  }

  trySql(database: string, sql: string, password: string, user = "postgres"): Promise<RunResult> {
    const args = [...this.psqlArgs(database, user), "-v", "ON_ERROR_STOP=1", "-At", "-f", "-"];
    return run("psql", args, { env: { PATH: process.env.PATH, PGPASSWORD: password }, input: sql });
  }

  async stop(): Promise<void> {
    await this.asServerUser("pg_ctl", ["--pgdata", this.dataDir, "--mode", "fast", "--wait", "stop"]);
  }
}

/** Lets the postgres user reach a directory inside the (private) temporary directories above it. */
async function letOthersTraverse(dir: string): Promise<void> {
  for (let current = dir; current.startsWith(`${tmpdir()}/`); current = dirname(current)) {
    await chmod(current, (await stat(current)).mode | 0o111);
  }
}

function postgresIds(): [number, number] {
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"]).stdout.toString().trim());
  return [id("-u"), id("-g")];
}

/**
 * A throwaway MariaDB server on a loopback port, set up the way the official images (MariaDB's
 * and MySQL's) leave it: a password-protected admin account for remote use, root at localhost,
 * no accounts tied to host names or addresses.
 */
export class MariadbServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(dir: string, admin: { user: string; password: string }): Promise<MariadbServer> {
    // Temporary tables in a directory of its own: in the shared /tmp, a server of another test
    // (whose pid, in its own namespace, may be the same) can delete this one's (seen in CI).
    const tmpDir = join(dir, "tmp");
    await mkdir(tmpDir, { recursive: true });
    const dataDir = join(dir, "data");
    const env = { PATH: process.env.PATH };
    const asUser = isRoot ? ["--user=root"] : [];
    expectSuccess(
      await run(
        "mariadb-install-db",
        [
          "--no-defaults",
          `--datadir=${dataDir}`,
          `--tmpdir=${tmpDir}`,
          "--auth-root-authentication-method=normal",
          "--skip-test-db",
        ].concat(asUser),
        { env },
      ),
      "mariadb-install-db",
    );
    const port = await closedPort();
    const program = mariadbdPath();
    if (!program) throw new Error("mariadbd not found");
    const child = spawn(
      program,
      [
        "--no-defaults",
        `--datadir=${dataDir}`,
        `--tmpdir=${tmpDir}`,
        `--socket=${join(dir, "mariadb.sock")}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        "--skip-name-resolve",
        `--pid-file=${join(dir, "mariadb.pid")}`,
        `--log-error=${join(dir, "server.log")}`,
        "--innodb-flush-log-at-trx-commit=0",
      ].concat(asUser),
      { env, stdio: "ignore" },
    );
    const server = new MariadbServer(dir, port, child);
    try {
      await waitFor(async () => {
        if (child.exitCode !== null)
          throw new Error(`mariadbd exited (${child.exitCode}); see ${dir}/server.log`);
        return (await server.socketSql("SELECT 1")).code === 0;
      }, "mariadbd to accept connections");
      const escaped = admin.password.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
      expectSuccess(
        await server.socketSql(
          "DELETE FROM mysql.global_priv WHERE Host NOT IN ('localhost', '%');" +
            "FLUSH PRIVILEGES;" +
            `CREATE USER '${admin.user}'@'%' IDENTIFIED BY '${escaped}';` +
            `GRANT ALL PRIVILEGES ON *.* TO '${admin.user}'@'%' WITH GRANT OPTION;`,
        ),
        "creating the admin account",
      );
    } catch (error) {
      // A server left running would keep the test process alive.
      await server.stop();
      throw error;
    }
    return server;
  }

  private socketSql(sql: string): Promise<RunResult> {
    const args = ["--no-defaults", `--socket=${join(this.dir, "mariadb.sock")}`, "-uroot", "--batch", "-N"];
    return run("mariadb", args, { env: { PATH: process.env.PATH }, input: sql });
  }

  /** What the hooks need to connect (DB_* variables), with the given password file. */
  connectionEnv(user: string, passwordFile: string): Record<string, string> {
    return {
      DB_HOST: "127.0.0.1",
      DB_PORT: String(this.port),
      DB_USER: user,
      DB_PASSWORD_FILE: passwordFile,
    };
  }

  clientArgs(user: string): string[] {
    return ["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", String(this.port), "-u", user];
  }

  /** Runs SQL over TCP as the given account and returns the tab-separated rows. */
  async sql(sql: string, user: string, password: string): Promise<string> {
    return expectSuccess(await this.trySql(sql, user, password), `mariadb ${sql}`);
  }

  trySql(sql: string, user: string, password: string): Promise<RunResult> {
    const env = { PATH: process.env.PATH, MYSQL_PWD: password };
    return run("mariadb", [...this.clientArgs(user), "--batch", "-N"], { env, input: sql });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}

/** Who runs a statement: an account and its password (and, for PostgreSQL, the database). */
export interface Login {
  user: string;
  password: string;
  database?: string;
}

/**
 * A throwaway server of a kind behind one interface, for tests the kinds share. There is no MySQL
 * server on these machines: a MySQL one is MariaDB, with root as its admin as in the mysql image,
 * for the MySQL scripts' logic run with the MySQL names of MariaDB's tools.
 */
export interface DatabaseServer {
  kind: DatabaseKind;
  port: number;
  /** The admin account the server was started with. */
  admin: Login;
  /** DB_HOST, DB_PORT, DB_USER and DB_PASSWORD_FILE of an account. */
  connectionEnv(user: string, passwordFile: string): Record<string, string>;
  /** Runs SQL and returns the rows, tab- (MariaDB) or "|"-separated (PostgreSQL); throws when it fails. */
  sql(sql: string, as: Login): Promise<string>;
  trySql(sql: string, as: Login): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Starts a server of a kind in `dir` with an admin account of the given password. */
export async function startDatabaseServer(
  kind: DatabaseKind,
  dir: string,
  adminPassword: string,
): Promise<DatabaseServer> {
  if (kind === "postgresql") {
    const server = await PostgresServer.start(dir, adminPassword);
    return {
      kind,
      port: server.port,
      admin: { user: "postgres", password: adminPassword },
      connectionEnv: (user, passwordFile) => ({ ...server.connectionEnv(passwordFile), DB_USER: user }),
      sql: (sql, as) => server.sql(as.database ?? "postgres", sql, as.password, as.user),
      trySql: (sql, as) => server.trySql(as.database ?? "postgres", sql, as.password, as.user),
      stop: () => server.stop(),
    };
  }
  const admin = { user: kind === "mysql" ? "root" : "admin", password: adminPassword };
  const server = await MariadbServer.start(dir, admin);
  return {
    kind,
    port: server.port,
    admin,
    connectionEnv: (user, passwordFile) => server.connectionEnv(user, passwordFile),
    sql: (sql, as) => server.sql(sql, as.user, as.password),
    trySql: (sql, as) => server.trySql(sql, as.user, as.password),
    stop: () => server.stop(),
  };
}
