import { readFileSync } from "node:fs";
import { join } from "node:path";
import { images } from "@infra/core";
import type { RunAs } from "@infra/scripting";

/** The directory of the database scripts (hooks, private server, database creation). */
export const databaseScriptsDir = join(__dirname, "..", "scripts");

export type DatabaseKind = "postgresql" | "mariadb";

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
  /** The scripts, by role. */
  files: {
    lib: string;
    backup: string;
    present: string;
    restore: string;
    start: string;
    stop: string;
    createDatabase: string;
  };
}

// Where each server keeps its data, inside its volume (`dataMount`).
const postgresqlDataDir = "/var/lib/postgresql/data/pgdata";
const mariadbDataDir = "/var/lib/mysql/mysql";

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
    files: {
      lib: "postgresql-lib.sh",
      backup: "postgresql-backup-hook.sh",
      present: "postgresql-present-hook.sh",
      restore: "postgresql-restore-hook.sh",
      start: "postgresql-server-start.sh",
      stop: "postgresql-server-stop.sh",
      createDatabase: "postgresql-create-database.sh",
    },
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
    files: {
      lib: "mariadb-lib.sh",
      backup: "mariadb-backup-hook.sh",
      present: "mariadb-present-hook.sh",
      restore: "mariadb-restore-hook.sh",
      start: "mariadb-server-start.sh",
      stop: "mariadb-server-stop.sh",
      createDatabase: "mariadb-create-database.sh",
    },
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
