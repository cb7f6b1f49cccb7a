import { readFileSync } from "node:fs";
import { join } from "node:path";
import { images } from "@infra/core";
import type { RunAs } from "@infra/scripting";

/** The directory of the database scripts (hooks, private server, database creation). */
export const databaseScriptsDir = join(__dirname, "..", "scripts");

export type DatabaseKind = "postgresql" | "mariadb" | "mysql";

/** What differs between the database servers the platform runs. */
export interface DatabaseEngine {
  kind: DatabaseKind;
  /** The server image; its client tools run the hooks and the database jobs too. */
  image: string;
  port: number;
  /** The namespace, Service and workload of the server (one per cluster), all named after the kind. */
  name: DatabaseKind;
  /** The account the hooks and database jobs use: a superuser / an admin with GRANT OPTION. */
  adminUser: string;
  /**
   * The image's own unprivileged user and group, which the server, its private server and every
   * job of the server's run as: its entrypoint then initialises and starts the server as that user
   * directly instead of stepping down from root.
   */
  user: RunAs;
  /**
   * Where the data volume mounts, whole, in the server's container (and the private server's). The
   * server keeps its data in a directory inside it that its entrypoint creates as the server's user
   * (PGDATA, MariaDB's datadir), so the server owns it whatever the volume's root is, and a
   * volume's lost+found never looks like a database to the server and the dumps.
   */
  dataMount: string;
  /** Where the server puts its socket and lock files: an emptyDir, as the root filesystem is read-only. */
  runDir: string;
  /** The server image's variables, given the admin password's file. */
  serverEnv(adminPasswordFile: string): Record<string, string>;
  /** The server container's command (the image's entrypoint runs it); the image's own when omitted. */
  serverArgs?: string[];
  /** What the private server's start script needs besides the image's variables. */
  privateServerEnv: Record<string, string>;
  /** The scheme of the connection URLs apps get. */
  urlScheme: string;
  /**
   * The longest database and user names the server keeps whole, in bytes (its limits are in
   * characters: a name of multi-byte characters is refused sooner than the server would).
   */
  maxNameBytes: { database: number; user: number };
  /** The scripts, by role. */
  files: {
    /** What the kind's scripts source (besides database-lib.sh), shipped with any of them. */
    libraries: string[];
    backup: string;
    present: string;
    restore: string;
    start: string;
    stop: string;
    createDatabase: string;
  };
}

/** A kind's scripts (`scripts/<name>-<role>.sh`), and the libraries they source. */
function scriptFiles(name: string, libraries: string[]): DatabaseEngine["files"] {
  return {
    libraries,
    backup: `${name}-backup-hook.sh`,
    present: `${name}-present-hook.sh`,
    restore: `${name}-restore-hook.sh`,
    start: `${name}-server-start.sh`,
    stop: `${name}-server-stop.sh`,
    createDatabase: `${name}-create-database.sh`,
  };
}

// Where each server keeps its data, inside its volume (`dataMount`).
const postgresqlDataDir = "/var/lib/postgresql/data/pgdata";
const mariadbDataDir = "/var/lib/mysql/mysql";
const mysqlDataDir = "/var/lib/mysql/data";

/**
 * The MySQL server's options, for its container and its private server alike. No binary log (on
 * by default since 8.0): no replica reads it, it would grow in the volume, and with it an app's
 * account could not load its own triggers and functions (`log_bin_trust_function_creators`, MySQL
 * 8.4 manual "Stored Program Binary Logging"). No X Protocol listener (33060 on every address by
 * default): nothing uses it, and a private server answers on 127.0.0.1 only ("Disabling X Plugin").
 */
const mysqlServerOptions = ["--skip-log-bin", "--skip-mysqlx"];

export const engines: Record<DatabaseKind, DatabaseEngine> = {
  postgresql: {
    kind: "postgresql",
    image: images.postgresql,
    port: 5432,
    name: "postgresql",
    adminUser: "postgres",
    // docker-library/postgres 15/bookworm/Dockerfile: `useradd -r -g postgres --uid=999`, group 999.
    user: { user: 999, group: 999 },
    dataMount: "/var/lib/postgresql/data",
    // The socket directory compiled into Debian's PostgreSQL, which the image creates.
    runDir: "/var/run/postgresql",
    serverEnv: (adminPasswordFile) => ({
      POSTGRES_PASSWORD_FILE: adminPasswordFile,
      // A subdirectory, as initdb needs an empty one. The entrypoint creates it and chmods it to
      // 0700 on every start, which PostgreSQL requires (the kubelet's fsGroup adds group
      // permissions to the directories of a volume whose ownership it manages).
      PGDATA: postgresqlDataDir,
    }),
    privateServerEnv: {},
    urlScheme: "postgresql",
    // NAMEDATALEN - 1: PostgreSQL cuts longer identifiers silently, so a URL would name another one.
    maxNameBytes: { database: 63, user: 63 },
    files: scriptFiles("postgresql", ["postgresql-lib.sh"]),
  },
  mariadb: {
    kind: "mariadb",
    image: images.mariadb,
    port: 3306,
    name: "mariadb",
    adminUser: "root",
    // The image's `groupadd -r mysql && useradd -r -g mysql mysql`: 999:999, the first system ids
    // of its Ubuntu base (MariaDB/mariadb-docker#287).
    user: { user: 999, group: 999 },
    dataMount: "/var/lib/mysql",
    // The socket and pid file of the image's configuration (`/run/mysqld/mysqld.sock`).
    runDir: "/run/mysqld",
    serverEnv: (adminPasswordFile) => ({
      MARIADB_ROOT_PASSWORD_FILE: adminPasswordFile,
      // A newer image of the same series upgrades the system tables on its first start.
      MARIADB_AUTO_UPGRADE: "1",
    }),
    // The entrypoint reads the datadir from the server's arguments (`mariadbd --verbose --help`)
    // and creates it (`mkdir -p`) as the server's user. It is the volume's `mysql/`, the directory
    // a subPath mount held before, which the kubelet created as root with the volume root's mode.
    serverArgs: ["mariadbd", `--datadir=${mariadbDataDir}`],
    privateServerEnv: { DB_SERVER_DATADIR: mariadbDataDir },
    urlScheme: "mysql",
    maxNameBytes: { database: 64, user: 80 },
    files: scriptFiles("mariadb", ["mysql-family-lib.sh", "mariadb-lib.sh"]),
  },
  mysql: {
    kind: "mysql",
    image: images.mysql,
    port: 3306,
    name: "mysql",
    adminUser: "root",
    // docker-library/mysql 8.4/Dockerfile.oracle: `groupadd --system --gid 999 mysql; useradd
    // --system --uid 999 --gid 999 ... mysql`.
    user: { user: 999, group: 999 },
    dataMount: "/var/lib/mysql",
    // The socket and pid file of the image's /etc/my.cnf (`socket=/var/run/mysqld/mysqld.sock`).
    runDir: "/var/run/mysqld",
    // The entrypoint makes 'root'@'%' (MYSQL_ROOT_HOST's default) with this password and every
    // privilege WITH GRANT OPTION. A newer 8.4 upgrades the data dictionary and the system tables
    // itself when it starts (`--upgrade=AUTO`, the default).
    serverEnv: (adminPasswordFile) => ({ MYSQL_ROOT_PASSWORD_FILE: adminPasswordFile }),
    // The entrypoint reads the datadir from the server's arguments (`mysqld --verbose --help`) and
    // creates it (`mkdir -p`) as the server's user (8.4/docker-entrypoint.sh).
    serverArgs: ["mysqld", `--datadir=${mysqlDataDir}`, ...mysqlServerOptions],
    privateServerEnv: { DB_SERVER_DATADIR: mysqlDataDir, DB_SERVER_OPTIONS: mysqlServerOptions.join(" ") },
    urlScheme: "mysql",
    // MySQL 8.4 manual, "Identifier Length Limits": 64 characters for a database, 32 for a user.
    maxNameBytes: { database: 64, user: 32 },
    files: scriptFiles("mysql", ["mysql-family-lib.sh", "mysql-lib.sh"]),
  },
};

// Sourced by each engine's library, so every set of database scripts carries it.
const sharedLibrary = "database-lib.sh";

/** The content of database scripts, by file name, with the library they all source. */
export function databaseScripts(...names: string[]): Record<string, string> {
  return Object.fromEntries(
    [sharedLibrary, ...names].map((name) => [name, readFileSync(join(databaseScriptsDir, name), "utf8")]),
  );
}

/** The host name of a server's Service inside the cluster. */
export function serverHost(engine: DatabaseEngine): string {
  return `${engine.name}.${engine.name}.svc.cluster.local`;
}
