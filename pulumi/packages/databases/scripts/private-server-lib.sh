# shellcheck shell=bash
# Shared by the private-server setup and cleanup scripts (sourced after the database's lib, which
# defines log and die). The restore job and the final backup run while the app's own server is
# stopped: they start a private server on the app's data volume, reachable on 127.0.0.1 only, run
# the hooks against it and stop it again.

PRIVATE_SERVER_PID_FILE=${DB_PRIVATE_SERVER_PID_FILE:-/tmp/private-database-server.pid}

# process_alive PID: whether the process exists and has not exited (a zombie has).
process_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# refuse_while_live_server_runs CHECK: CHECK succeeds when the app's own server answers at
# DB_LIVE_HOST. Two servers on one data directory destroy it, so then nothing starts.
# With DB_SERVER_SCRATCH=true the server is a throwaway one on a scratch data directory (a restore
# drill's): no other server ever uses that directory, so there is nothing to check.
refuse_while_live_server_runs() {
  if [ "${DB_SERVER_SCRATCH:-false}" = true ]; then
    log "a throwaway server on a scratch data directory: no other server shares it"
    return 0
  fi
  [ -n "${DB_LIVE_HOST:-}" ] || die "DB_LIVE_HOST is not set: cannot make sure the app's own server is stopped"
  if "$1"; then
    die "the app's database server at $DB_LIVE_HOST is running: a second server on its data volume" \
      "would destroy it; this job runs only while the app is stopped"
  fi
  log "no database server answers at $DB_LIVE_HOST"
}

# start_private_server READY COMMAND [ARG...]: runs COMMAND in the background (its log goes to the
# job's) and waits until READY succeeds, it exits, or DB_SERVER_START_TIMEOUT seconds pass.
start_private_server() {
  local ready=$1 pid waited=0 timeout=${DB_SERVER_START_TIMEOUT:-600}
  shift
  if [ -f "$PRIVATE_SERVER_PID_FILE" ] && process_alive "$(cat "$PRIVATE_SERVER_PID_FILE")"; then
    die "a private server is already running (pid $(cat "$PRIVATE_SERVER_PID_FILE"))"
  fi
  log "starting a private server: $*"
  "$@" </dev/null >&2 &
  pid=$!
  printf '%s\n' "$pid" >"$PRIVATE_SERVER_PID_FILE"
  until "$ready"; do
    process_alive "$pid" || die "the private server exited while starting (its log is above)"
    [ "$waited" -lt "$timeout" ] || die "the private server did not accept connections within ${timeout}s"
    sleep 1
    waited=$((waited + 1))
  done
  log "private server ready (pid $pid)"
}

# stop_private_server SIGNAL: sends the server its clean-shutdown signal and waits until it has
# exited, at most DB_SERVER_STOP_TIMEOUT seconds. A server that exited on its own is an error: what
# it wrote may not be complete.
stop_private_server() {
  local signal=$1 pid waited=0 timeout=${DB_SERVER_STOP_TIMEOUT:-300}
  if [ ! -f "$PRIVATE_SERVER_PID_FILE" ]; then
    log "no private server was started"
    return
  fi
  pid=$(cat "$PRIVATE_SERVER_PID_FILE")
  if ! process_alive "$pid"; then
    rm -f "$PRIVATE_SERVER_PID_FILE"
    die "the private server (pid $pid) exited before it was stopped"
  fi
  log "stopping the private server (pid $pid)"
  kill "-$signal" "$pid"
  while process_alive "$pid"; do
    [ "$waited" -lt "$timeout" ] || die "the private server (pid $pid) did not stop within ${timeout}s"
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$PRIVATE_SERVER_PID_FILE"
  log "private server stopped"
}
