#!/usr/bin/env bash
# Closes Ente's sign-up once its first account exists (ente:registration first-account): writes
# GATE_DIR/close as soon as museum's database holds an account that finished its setup (a row of
# key_attributes: the keys of an account whose owner chose a password). Museum's start reads the
# file (it then runs with registration disabled) and its liveness probe restarts a museum that
# started with sign-up open once the file appears.
#   once   check and exit: the init container, so a museum that starts with an account never opens sign-up
#   watch  check every GATE_INTERVAL seconds (30) until the file is written, then idle: the sidecar
# The connection comes from libpq's PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD.
set -euo pipefail

log() {
  printf '%s registration-gate: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# Exit status 0: an account exists; 1: none (or museum has not created its tables yet); 2: the
# database could not be asked.
has_account() {
  local tables answer
  tables=$(psql -XAtq -c "SELECT to_regclass('public.key_attributes') IS NOT NULL") || return 2
  [ "$tables" = t ] || return 1
  answer=$(psql -XAtq -c "SELECT EXISTS (SELECT 1 FROM key_attributes)") || return 2
  [ "$answer" = t ]
}

# Exit status 0 once the gate is closed (now or before), 1 while sign-up stays open, 2 on a database error.
check() {
  if [ -e "$GATE_DIR/close" ]; then return 0; fi
  local rc=0
  has_account || rc=$?
  case "$rc" in
    0)
      : >"$GATE_DIR/close"
      log "the first account exists: sign-up closes (museum restarts with registration disabled)"
      ;;
    1) log "no account yet: sign-up stays open for the first one" ;;
    *) log "the database could not be asked" ;;
  esac
  return "$rc"
}

main() {
  [ -n "${GATE_DIR:-}" ] || { log "GATE_DIR is not set"; exit 2; }
  local mode=${1:-} rc=0
  case "$mode" in
    once)
      check || rc=$?
      # A database error stops museum from starting, as museum itself would fail without it.
      [ "$rc" -le 1 ] || exit 1
      ;;
    watch)
      until check; do sleep "${GATE_INTERVAL:-30}"; done
      while :; do sleep 3600; done
      ;;
    *)
      log "usage: registration-gate.sh once|watch"
      exit 2
      ;;
  esac
}

main "$@"
