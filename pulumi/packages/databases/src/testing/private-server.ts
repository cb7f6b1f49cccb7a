import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exampleBackupConfig } from "@infra/restic/src/testing/backup-config";
import { type PodUser, podUser, podUserPrefix } from "@infra/restic/src/testing/pod-user";
import { plainEnv, podSpecOf } from "@infra/restic/src/testing/rendered-job";
import { closedPort, run } from "@infra/restic/src/testing/restic-sandbox";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import type { DatabaseKind } from "../engines";
import { createDatabaseServer } from "../server";
import { mariadbdPath, postgresBinDir } from "./db-servers";

/** Where Debian installs nss_wrapper (the package libnss-wrapper), which the postgres image has too. */
export const nssWrapper = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]
  .map((dir) => join(dir, "libnss_wrapper.so"))
  .find((path) => existsSync(path));

/**
 * Stands in for the official postgres image's docker-entrypoint.sh, which this machine lacks, as it
 * behaves when the container starts as the image's user (docker-library/postgres
 * 15/bookworm/docker-entrypoint.sh): creates PGDATA and chmods it to 0700 (ignoring a failure),
 * initialises it when it holds no PG_VERSION (superuser "postgres" with the password of
 * POSTGRES_PASSWORD_FILE, password logins), running initdb through nss_wrapper when the user has
 * no /etc/passwd entry, then execs the server with the arguments it was given. Its socket goes to
 * `socketDir`, the emptyDir the pod mounts where the image's server puts it. Started as root it
 * refuses: the pods never start as root.
 */
function postgresEntrypoint(binDir: string, wrapper: string, socketDir: string): string {
  return `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = postgres ] || exit 64
shift
if [ "$(id -u)" = 0 ]; then echo "stand-in entrypoint: started as root" >&2; exit 64; fi
mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" || :
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if ! getent passwd "$(id -u)" >/dev/null; then
    NSS_WRAPPER_PASSWD=$(mktemp)
    NSS_WRAPPER_GROUP=$(mktemp)
    export LD_PRELOAD=${wrapper} NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
    printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
    printf 'postgres:x:%s:\\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
  fi
  password=$(<"$POSTGRES_PASSWORD_FILE")
  "${binDir}/initdb" --pgdata "$PGDATA" --username postgres --auth scram-sha-256 \\
    --pwfile <(printf '%s\\n' "$password") --no-sync >&2
  unset LD_PRELOAD
fi
exec "${binDir}/postgres" -D "$PGDATA" -k "${socketDir}" -c fsync=off "$@"
`;
}

/** What tells the mariadb and mysql images' entrypoints apart, for their stand-in. */
interface MysqlFamilyImage {
  /** The server program the container runs. */
  server: string;
  /** The variable of the root password's file. */
  passwordFile: string;
  /** Server options MariaDB lacks, which the stand-in leaves out (MySQL's X Plugin). */
  mysqlOnlyOptions: string[];
}

const mysqlFamilyImages: Record<"mariadb" | "mysql", MysqlFamilyImage> = {
  mariadb: { server: "mariadbd", passwordFile: "MARIADB_ROOT_PASSWORD_FILE", mysqlOnlyOptions: [] },
  mysql: { server: "mysqld", passwordFile: "MYSQL_ROOT_PASSWORD_FILE", mysqlOnlyOptions: ["--skip-mysqlx"] },
};

/**
 * Stands in for the official mariadb and mysql images' docker-entrypoint.sh as they behave when
 * the container starts as the image's user (MariaDB/mariadb-docker 10.11/docker-entrypoint.sh,
 * docker-library/mysql 8.4/docker-entrypoint.sh): takes the datadir from the server's arguments,
 * creates it, initialises it when it holds no `mysql` database as the images do (root only at
 * localhost and '%', with the password of the image's password file), then execs the server with
 * the arguments it was given, keeping its process id. The server is always MariaDB's (there is no
 * MySQL server here), without the options only MySQL has. Its socket and pid file go to
 * `socketDir`, the emptyDir the pod mounts where the image's server puts them. Started as root it
 * refuses.
 */
function mysqlFamilyEntrypoint(image: MysqlFamilyImage, mariadbd: string, socketDir: string): string {
  const leftOut =
    image.mysqlOnlyOptions.length > 0 ? `\n    ${image.mysqlOnlyOptions.join(" | ")}) continue ;;` : "";
  return `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = ${image.server} ] || exit 64
shift
if [ "$(id -u)" = 0 ]; then echo "stand-in entrypoint: started as root" >&2; exit 64; fi
datadir=
args=()
for arg; do
  case "$arg" in
    --datadir=*) datadir=\${arg#--datadir=} ;;${leftOut}
  esac
  args+=("$arg")
done
[ -n "$datadir" ] || { echo "stand-in entrypoint: no --datadir" >&2; exit 64; }
mkdir -p "$datadir"
# Temporary tables in a directory of its own, not in the shared /tmp, where a server of another
# test (whose pid, in its own namespace, may be the same) can delete them.
tmpdir=$(mktemp -d)
init=()
if [ ! -d "$datadir/mysql" ]; then
  mariadb-install-db --no-defaults --datadir="$datadir" --tmpdir="$tmpdir" --auth-root-authentication-method=normal \\
    --skip-test-db >&2
  password=$(cat "$${image.passwordFile}")
  password=\${password//\\\\/\\\\\\\\}
  password=\${password//\\'/\\\\\\'}
  init_file=$(mktemp)
  cat >"$init_file" <<SQL
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');
ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
CREATE USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
  init=(--init-file="$init_file")
fi
exec "${mariadbd}" --no-defaults --socket="${socketDir}/mysqld.$$.sock" --pid-file="${socketDir}/mysqld.$$.pid" \\
  --tmpdir="$tmpdir" --skip-name-resolve --innodb-flush-log-at-trx-commit=0 "\${init[@]}" "\${args[@]}"
`;
}

/**
 * Writes the stand-in entrypoint of a kind into `dir` and returns its path; the servers it starts
 * put their sockets into `socketDir`.
 */
export async function writeFakeEntrypoint(
  kind: DatabaseKind,
  dir: string,
  socketDir: string,
): Promise<string> {
  const path = join(dir, `${kind}-entrypoint.sh`);
  if (kind === "postgresql") {
    const binDir = postgresBinDir();
    if (!binDir) throw new Error("PostgreSQL server programs not found");
    if (!nssWrapper) throw new Error("nss_wrapper (libnss-wrapper) not found");
    await writeFile(path, postgresEntrypoint(binDir, nssWrapper, socketDir), { mode: 0o755 });
  } else {
    const mariadbd = mariadbdPath();
    if (!mariadbd) throw new Error("mariadbd not found");
    await writeFile(path, mysqlFamilyEntrypoint(mysqlFamilyImages[kind], mariadbd, socketDir), {
      mode: 0o755,
    });
  }
  return path;
}

/** A server started through a stand-in entrypoint, as the server's Deployment would start it. */
export interface EntrypointServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a server the way its rendered Deployment does: through the stand-in entrypoint, with the
 * container's arguments and variables (their paths moved by `moved`), as the pod's user; resolves
 * once it answers on TCP.
 */
export async function startWithEntrypoint(options: {
  kind: DatabaseKind;
  entrypoint: string;
  server: RenderedServer;
  moved: (value: string) => string;
}): Promise<EntrypointServer> {
  const { kind, entrypoint, server, moved } = options;
  const port = await closedPort();
  const env = {
    PATH: process.env.PATH,
    ...Object.fromEntries(Object.entries(server.env).map(([name, value]) => [name, moved(value)])),
  };
  const command = (server.args ?? [kind === "postgresql" ? "postgres" : "mariadbd"]).map(moved);
  const listen =
    kind === "postgresql"
      ? ["-c", "listen_addresses=127.0.0.1", "-p", String(port)]
      : ["--bind-address=127.0.0.1", `--port=${port}`];
  const child = spawn("setpriv", [...podUserPrefix(server.user), entrypoint, ...command, ...listen], {
    env,
    stdio: "ignore",
  });
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

/** The server's container as rendered: what it runs, with which variables, as whom. */
export interface RenderedServer {
  args?: string[];
  env: Record<string, string>;
  user: PodUser;
}

/** A rendered job: its variables and the user its pod runs as. */
export interface RenderedJob {
  env: Record<string, string>;
  user: PodUser;
}

/** What the database project renders for its server and its backups. */
export interface RenderedDatabaseJobs {
  server: RenderedServer;
  /** Files of the scheduled backup's bundle and of the offline (restore, final backup) bundle. */
  onlineFiles: Record<string, string>;
  offlineFiles: Record<string, string>;
  /** The scheduled backup, the restore and the final backup, as rendered. */
  scheduled: RenderedJob;
  restore: RenderedJob;
  final: RenderedJob;
}

/** Renders a database server the way its project does and returns it and its backup jobs. */
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
  const job = (manifest: Record<string, any>): RenderedJob => {
    const spec = podSpecOf(manifest);
    return { env: plainEnv(spec.containers[0]), user: podUser(spec) };
  };
  const deployment = podSpecOf(rendered.manifest("Deployment", kind));
  return {
    server: {
      ...(deployment.containers[0].args ? { args: deployment.containers[0].args } : {}),
      env: plainEnv(deployment.containers[0]),
      user: podUser(deployment),
    },
    onlineFiles: rendered.manifest("ConfigMap", `${kind}-backup-scripts`).data,
    offlineFiles: rendered.manifest("ConfigMap", `${kind}-offline-backup-scripts`).data,
    scheduled: job(rendered.manifest("CronJob", `${kind}-backup`)),
    restore: job(rendered.manifest("Job", `${kind}-restore`)),
    final: job(rendered.manifest("CronJob", `${kind}-final-backup`)),
  };
}
