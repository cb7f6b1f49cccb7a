#!/usr/bin/env bash
# Setup script of the jobs that run while the app's PostgreSQL server is stopped (the restore job,
# the final backup): starts a private server on the app's data volume, listening on 127.0.0.1
# only, through the image's own entrypoint, which initialises an empty volume exactly as the app's
# server would. Refuses while the app's server answers at DB_LIVE_HOST. postgresql-server-stop.sh
# stops it.
set -euo pipefail

SCRIPT_NAME=postgresql-server-start
# shellcheck source=postgresql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql-lib.sh"
# shellcheck source=private-server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-server-lib.sh"

port=${DB_PORT:-5432}
# Named, as the job's user may have no passwd entry for libpq to take a default from.
user=${DB_USER:-postgres}

# pg_isready exits 0 when a server accepts connections and 1 when it rejects them (starting up or
# shutting down): either way a server runs. 2 is no answer; 3 means it did not even try, which
# says nothing about the server, so nothing starts.
live_server_runs() {
  local rc=0
  pg_isready --quiet --host "$DB_LIVE_HOST" --port "$port" --username "$user" --timeout 5 || rc=$?
  [ "$rc" -ne 3 ] || die "pg_isready could not check $DB_LIVE_HOST:$port (exit 3: bad parameters)"
  [ "$rc" -le 1 ]
}

# The entrypoint's own initialisation server listens on its socket only: TCP answers only once
# the server it finally starts is up.
private_server_ready() {
  pg_isready --quiet --host 127.0.0.1 --port "$port" --username "$user" --timeout 5
}

refuse_while_live_server_runs live_server_runs
start_private_server private_server_ready "${DB_SERVER_ENTRYPOINT:-docker-entrypoint.sh}" \
  postgres -c listen_addresses=127.0.0.1 -p "$port"
