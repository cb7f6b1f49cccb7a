#!/usr/bin/env bash
# RESTORE_HOOK for MariaDB: loads what mariadb-backup-hook.sh dumped into BACKUP_DIR, accounts
# first (existing ones are left as they are). MariaDB cannot roll DDL back, so a marker database
# exists while loading: an interrupted load is never mistaken for restored data.
set -euo pipefail

SCRIPT_NAME=mariadb-restore-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

load() {
  mariadb --defaults-extra-file="$MARIADB_OPTIONS" --batch <"$1"
}

main() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  mariadb_connect_from_env
  require_no_unfinished_restore
  if [ ! -f "$BACKUP_DIR/databases.sql" ] && [ ! -f "$BACKUP_DIR/users.sql" ]; then
    die "no MariaDB dump in $BACKUP_DIR"
  fi
  mariadb_query -e "CREATE DATABASE $MARKER_DATABASE"
  if [ -f "$BACKUP_DIR/users.sql" ]; then
    timed "restore accounts and grants" load "$BACKUP_DIR/users.sql"
  fi
  if [ -f "$BACKUP_DIR/databases.sql" ]; then
    timed "restore databases" load "$BACKUP_DIR/databases.sql"
  fi
  mariadb_query -e "DROP DATABASE $MARKER_DATABASE"
}

main "$@"
