import { spawn } from "node:child_process";
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { exampleBackupConfig } from "@infra/restic/src/testing/backup-config";
import { closedPort, run } from "@infra/restic/src/testing/restic-sandbox";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import type { DatabaseKind } from "../engines";
import { createDatabaseServer } from "../server";
import { mariadbdPath, postgresBinDir } from "./db-servers";

/**
 * Stands in for the official postgres image's docker-entrypoint.sh, which this machine lacks: as
 * root it hands PGDATA to the postgres user, initialises it when empty (superuser "postgres" with
 * the password of POSTGRES_PASSWORD_FILE, password logins), then execs the server as postgres with
 * the arguments it was given, keeping its process id, as the image's gosu does.
 */
function postgresEntrypoint(binDir: string): string {
  return `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = postgres ] || exit 64
shift
as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)
mkdir -p "$PGDATA"
chown postgres: "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  cp "$POSTGRES_PASSWORD_FILE" "$pwfile"
  chown postgres: "$pwfile"
  "\${as_postgres[@]}" "${binDir}/initdb" --pgdata "$PGDATA" --username postgres --auth scram-sha-256 \\
    --pwfile "$pwfile" --no-sync >&2
  rm -f "$pwfile"
fi
exec "\${as_postgres[@]}" "${binDir}/postgres" -D "$PGDATA" -k "$PGDATA" -c fsync=off "$@"
`;
}

/**
 * Stands in for the official mariadb image's docker-entrypoint.sh: initialises an empty data
 * directory as the image does (root only at localhost and '%', with the password of
 * MARIADB_ROOT_PASSWORD_FILE), then execs the server with the arguments it was given, keeping its
 * process id.
 */
function mariadbEntrypoint(mariadbd: string): string {
  return `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = mariadbd ] || exit 64
shift
datadir=$MARIADB_DATADIR
init=()
if [ ! -d "$datadir/mysql" ]; then
  mkdir -p "$datadir"
  mariadb-install-db --no-defaults --datadir="$datadir" --auth-root-authentication-method=normal \\
    --skip-test-db --user=root >&2
  password=$(cat "$MARIADB_ROOT_PASSWORD_FILE")
  password=\${password//\\\\/\\\\\\\\}
  password=\${password//\\'/\\\\\\'}
  cat >"$datadir.init.sql" <<SQL
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');
ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
CREATE USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
  init=(--init-file="$datadir.init.sql")
fi
exec "${mariadbd}" --no-defaults --datadir="$datadir" --socket="$datadir.sock" --pid-file="$datadir.pid" \\
  --skip-name-resolve --user=root --innodb-flush-log-at-trx-commit=0 "\${init[@]}" "$@"
`;
}

/** Writes the stand-in entrypoint of a kind into `dir` and returns its path. */
export async function writeFakeEntrypoint(kind: DatabaseKind, dir: string): Promise<string> {
  const path = join(dir, `${kind}-entrypoint.sh`);
  if (kind === "postgresql") {
    const binDir = postgresBinDir();
    if (!binDir) throw new Error("PostgreSQL server programs not found");
    await writeFile(path, postgresEntrypoint(binDir), { mode: 0o755 });
  } else {
    const mariadbd = mariadbdPath();
    if (!mariadbd) throw new Error("mariadbd not found");
    await writeFile(path, mariadbEntrypoint(mariadbd), { mode: 0o755 });
  }
  return path;
}

/** A server started through a stand-in entrypoint, as the app's Deployment would start it. */
export interface EntrypointServer {
  port: number;
  stop(): Promise<void>;
}

/** Starts a server of a kind on `volume` through its stand-in entrypoint; resolves once it answers on TCP. */
export async function startWithEntrypoint(
  kind: DatabaseKind,
  entrypoint: string,
  volume: string,
  adminPasswordFile: string,
): Promise<EntrypointServer> {
  const port = await closedPort();
  await letOthersTraverse(volume);
  const env = {
    PATH: process.env.PATH,
    POSTGRES_PASSWORD_FILE: adminPasswordFile,
    PGDATA: join(volume, "pgdata"),
    MARIADB_ROOT_PASSWORD_FILE: adminPasswordFile,
    MARIADB_DATADIR: volume,
  };
  const args =
    kind === "postgresql"
      ? ["postgres", "-c", "listen_addresses=127.0.0.1", "-p", String(port)]
      : ["mariadbd", "--bind-address=127.0.0.1", `--port=${port}`];
  const child = spawn(entrypoint, args, { env, stdio: "ignore" });
  const ready = () =>
    kind === "postgresql"
      ? run("pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port)], { env })
      : run("mariadb-admin", ["--no-defaults", "--protocol=TCP", "-h127.0.0.1", `-P${port}`, "ping"], {
          env,
        });
  const deadline = Date.now() + 60_000;
  while ((await ready()).code !== 0) {
    if (child.exitCode !== null) throw new Error(`${entrypoint} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${kind} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(kind === "postgresql" ? "SIGINT" : "SIGTERM");
      await exited;
    },
  };
}

/** Lets the postgres user reach a directory inside the (private) temporary directories above it. */
export async function letOthersTraverse(dir: string): Promise<void> {
  for (let current = dir; current.startsWith(`${tmpdir()}/`); current = dirname(current)) {
    await chmod(current, (await stat(current)).mode | 0o111);
  }
}

/** What the database project renders for its backups: the bundles' files and the jobs' variables. */
export interface RenderedDatabaseJobs {
  /** Files of the scheduled backup's bundle and of the offline (restore, final backup) bundle. */
  onlineFiles: Record<string, string>;
  offlineFiles: Record<string, string>;
  /** Variables of the scheduled backup, the restore and the final backup, as rendered. */
  scheduledEnv: Record<string, string>;
  restoreEnv: Record<string, string>;
  finalEnv: Record<string, string>;
}

function plainEnv(container: Record<string, any>): Record<string, string> {
  return Object.fromEntries(
    (container.env as Record<string, any>[])
      .filter((variable) => variable.value !== undefined)
      .map((variable) => [variable.name, variable.value as string]),
  );
}

/** Renders a database server the way its project does and returns its backup jobs' scripts and settings. */
export async function renderDatabaseJobs(kind: DatabaseKind): Promise<RenderedDatabaseJobs> {
  const rendered = await render(() =>
    createDatabaseServer({
      kind,
      serverName: "test",
      provider: new k8s.Provider("cluster", { context: "test" }),
      storageSize: "1Gi",
      backup: exampleBackupConfig(),
      kubeContext: "test",
    }),
  );
  if (rendered.errors.length > 0) throw new Error(rendered.errors.join("\n"));
  const cronJobContainer = (name: string) =>
    rendered.manifest("CronJob", name).spec.jobTemplate.spec.template.spec.containers[0];
  return {
    onlineFiles: rendered.manifest("ConfigMap", `${kind}-backup-scripts`).data,
    offlineFiles: rendered.manifest("ConfigMap", `${kind}-offline-backup-scripts`).data,
    scheduledEnv: plainEnv(cronJobContainer(`${kind}-backup`)),
    restoreEnv: plainEnv(rendered.manifest("Job", `${kind}-restore`).spec.template.spec.containers[0]),
    finalEnv: plainEnv(cronJobContainer(`${kind}-final-backup`)),
  };
}

/** Writes a bundle's files into a directory, as its ConfigMap mount holds them. */
export async function writeBundle(files: Record<string, string>, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/**
 * A job's variables on this machine: each rendered value that is a path under one of `paths`' keys
 * is moved to the local directory or file it maps to; `overrides` replace or add variables.
 */
export function localEnv(
  rendered: Record<string, string>,
  paths: Record<string, string>,
  overrides: Record<string, string>,
): NodeJS.ProcessEnv {
  const moved = Object.fromEntries(
    Object.entries(rendered).map(([name, value]) => {
      const prefix = Object.keys(paths)
        .sort((a, b) => b.length - a.length)
        .find((candidate) => value === candidate || value.startsWith(`${candidate}/`));
      return [name, prefix === undefined ? value : `${paths[prefix]}${value.slice(prefix.length)}`];
    }),
  );
  return { PATH: process.env.PATH, ...moved, ...overrides };
}
