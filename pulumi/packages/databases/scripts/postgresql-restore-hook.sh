#!/usr/bin/env bash
# RESTORE_HOOK for PostgreSQL: loads what postgresql-backup-hook.sh dumped into BACKUP_DIR.
#   DB_DATABASES=all: roles first (existing ones keep their password), then each database in one
#     transaction each, creating missing ones; databases their apps back up themselves are left
#     alone. A marker database exists while loading, so an interrupted load is never mistaken for
#     restored data.
#   named databases (an app's own, with the app's account): each must exist (the app's database
#     job creates it); one transaction each replaces whatever is in it with the dump, so a retry
#     after an interrupted restore ends as a first restore does.
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

restore_server() {
  require_no_unfinished_restore
  shopt -s nullglob
  local dumps=("$BACKUP_DIR"/*.pgdump) dump db app_backed_up
  if [ ${#dumps[@]} -eq 0 ] && [ ! -f "$BACKUP_DIR/globals.sql" ]; then
    die "no PostgreSQL dump in $BACKUP_DIR"
  fi
  app_backed_up=$(pg_app_backed_up_databases)
  pg_query <<<"CREATE DATABASE $MARKER_DATABASE"
  if [ -f "$BACKUP_DIR/globals.sql" ]; then
    timed "restore roles and tablespaces" restore_globals
  fi
  for dump in "${dumps[@]}"; do
    db=$(basename "$dump" .pgdump)
    if printf '%s\n' "$app_backed_up" | grep -qxF -- "$db"; then
      log "database $db is backed up by its app: left as it is"
      continue
    fi
    timed "restore database $db" restore_database "$db" "$dump"
  done
  pg_query <<<"DROP DATABASE $MARKER_DATABASE"
}

# As the app's account, which owns the database: --clean --if-exists drops each object of the dump
# that exists before creating it, --no-owner makes the account the owner of what it creates, and
# the single transaction leaves the database as it was if anything fails.
restore_app_database() {
  pg_restore --single-transaction --exit-on-error --clean --if-exists --no-owner --dbname "$1" "$2"
}

restore_app() {
  local databases db dump
  databases=$(pg_target_databases)
  [ ! -f "$BACKUP_DIR/globals.sql" ] || log "ignoring globals.sql: roles are the server's"
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    case "$db" in */*) die "database name '$db' cannot be a file name" ;; esac
    dump="$BACKUP_DIR/$db.pgdump"
    if [ ! -f "$dump" ]; then
      log "warning: the snapshot holds no dump of database $db (a database added to the app later?): left as it is"
      continue
    fi
    pg_database_exists "$db" ||
      die "database $db does not exist: the app's database job creates it (empty) before the restore"
    timed "restore database $db" restore_app_database "$db" "$dump"
  done <<<"$databases"
}

main() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  pg_connect_from_env
  if app_database_mode; then
    restore_app
  else
    restore_server
  fi
}

main "$@"
