import { readFileSync } from "node:fs";
import { join } from "node:path";
import { images } from "@infra/core";

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
  /** Where the data volume mounts in the server's container (and the private server's). */
  dataMount: { mountPath: string; subPath?: string };
  /** The server image's variables, given the admin password's file. */
  serverEnv(adminPasswordFile: string): Record<string, string>;
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

export const engines: Record<DatabaseKind, DatabaseEngine> = {
  postgresql: {
    kind: "postgresql",
    image: images.postgresql,
    port: 5432,
    name: "postgresql",
    adminUser: "postgres",
    dataMount: { mountPath: "/var/lib/postgresql/data" },
    serverEnv: (adminPasswordFile) => ({
      POSTGRES_PASSWORD_FILE: adminPasswordFile,
      // initdb needs an empty directory: a volume's root may hold lost+found.
      PGDATA: "/var/lib/postgresql/data/pgdata",
    }),
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
    // A subdirectory: a volume's lost+found would look like a database to the server and the dumps.
    dataMount: { mountPath: "/var/lib/mysql", subPath: "mysql" },
    serverEnv: (adminPasswordFile) => ({
      MARIADB_ROOT_PASSWORD_FILE: adminPasswordFile,
      // A newer image of the same series upgrades the system tables on its first start.
      MARIADB_AUTO_UPGRADE: "1",
    }),
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
