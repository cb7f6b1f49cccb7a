#!/usr/bin/env bash
# Setup script of the jobs that run while the app's MariaDB server is stopped (the restore job, the
# final backup): starts a private server on the app's data volume, listening on 127.0.0.1 only,
# through the image's own entrypoint, which initialises an empty volume exactly as the app's server
# would. Refuses while the app's server answers at DB_LIVE_HOST. mariadb-server-stop.sh stops it.
set -euo pipefail

SCRIPT_NAME=mariadb-server-start
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"
# shellcheck source=private-server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-server-lib.sh"

port=${DB_PORT:-3306}

# `ping` succeeds whenever a server answers, even when it refuses the login.
answers() {
  mariadb-admin --no-defaults --protocol=TCP --host="$1" --port="$port" --connect-timeout=5 ping \
    >/dev/null 2>&1
}

live_server_runs() {
  answers "$DB_LIVE_HOST"
}

# The entrypoint's own initialisation server skips networking: TCP answers only once the server
# it finally starts is up.
private_server_ready() {
  answers 127.0.0.1
}

# The server's own datadir, inside the volume: the entrypoint reads it from the arguments.
[ -n "${DB_SERVER_DATADIR:-}" ] || die "DB_SERVER_DATADIR is not set: the server's data directory in its volume"

refuse_while_live_server_runs live_server_runs
start_private_server private_server_ready "${DB_SERVER_ENTRYPOINT:-docker-entrypoint.sh}" \
  mariadbd --datadir="$DB_SERVER_DATADIR" --bind-address=127.0.0.1 --port="$port"
