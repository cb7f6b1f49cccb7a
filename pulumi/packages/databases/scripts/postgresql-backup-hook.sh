#!/usr/bin/env bash
# BACKUP_HOOK for PostgreSQL: dumps the roles (without passwords) and each database into BACKUP_DIR,
# consistently and online (pg_dump reads one snapshot per database). Custom format without
# compression, so restic deduplicates and compresses it. With DB_DATABASES=all, databases that
# their apps back up themselves are left out; with named databases (an app's own, dumped with the
# app's account) only those, without roles.
set -euo pipefail

SCRIPT_NAME=postgresql-backup-hook
# shellcheck source=postgresql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql-lib.sh"

dump_globals() {
  pg_dumpall --globals-only --no-role-passwords --file "$BACKUP_DIR/globals.sql.partial"
  mv "$BACKUP_DIR/globals.sql.partial" "$BACKUP_DIR/globals.sql"
}

dump_database() {
  local file="$BACKUP_DIR/$1.pgdump"
  pg_dump --format=custom --compress=0 --file "$file.partial" --dbname "$1"
  mv "$file.partial" "$file"
  log "$1: $(du -h "$file" | cut -f1)"
}

main() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  pg_connect_from_env
  app_database_mode || require_no_unfinished_restore
  local databases db left_out
  databases=$(pg_target_databases)
  rm -f "$BACKUP_DIR"/*.pgdump "$BACKUP_DIR"/*.partial "$BACKUP_DIR/globals.sql"
  if ! app_database_mode; then
    left_out=$(pg_app_backed_up_databases)
    [ -z "$left_out" ] || log "left out, backed up by their apps: ${left_out//$'\n'/, }"
    timed "dump roles and tablespaces" dump_globals
  fi
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    case "$db" in */*) die "database name '$db' cannot be a file name" ;; esac
    timed "dump database $db" dump_database "$db"
  done <<<"$databases"
}

main "$@"
