#!/usr/bin/env bash
# RESTORE_HOOK for PostgreSQL: loads what postgresql-backup-hook.sh dumped into BACKUP_DIR. Roles
# first (existing ones keep their password), then each database in one transaction each. A marker
# database exists while loading, so an interrupted load is never mistaken for restored data.
set -euo pipefail

SCRIPT_NAME=postgresql-restore-hook
# shellcheck source=postgresql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql-lib.sh"

# pg_dumpall cannot skip roles that exist: their CREATE ROLE fails, the ALTER ROLE after it applies.
restore_globals() {
  local errors unexpected
  errors=$(psql --no-psqlrc --quiet --set ON_ERROR_STOP=0 --file "$BACKUP_DIR/globals.sql" 2>&1 >/dev/null)
  unexpected=$(printf '%s\n' "$errors" | grep 'ERROR:' | grep -v 'role ".*" already exists' || true)
  if [ -n "$unexpected" ]; then
    printf '%s\n' "$unexpected" >&2
    return 1
  fi
}

restore_database() {
  local db=$1 dump=$2
  if ! pg_database_exists "$db"; then
    # With --create and an empty list pg_restore emits only the database's creation and settings.
    pg_restore --create --use-list /dev/null --file - "$dump" |
      psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 >/dev/null
  fi
  pg_restore --exit-on-error --single-transaction --dbname "$db" "$dump"
}

main() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  pg_connect_from_env
  require_no_unfinished_restore
  shopt -s nullglob
  local dumps=("$BACKUP_DIR"/*.pgdump) dump db
  if [ ${#dumps[@]} -eq 0 ] && [ ! -f "$BACKUP_DIR/globals.sql" ]; then
    die "no PostgreSQL dump in $BACKUP_DIR"
  fi
  pg_query <<<"CREATE DATABASE $MARKER_DATABASE"
  if [ -f "$BACKUP_DIR/globals.sql" ]; then
    timed "restore roles and tablespaces" restore_globals
  fi
  for dump in "${dumps[@]}"; do
    db=$(basename "$dump" .pgdump)
    timed "restore database $db" restore_database "$db" "$dump"
  done
  pg_query <<<"DROP DATABASE $MARKER_DATABASE"
}

main "$@"
