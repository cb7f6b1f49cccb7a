#!/usr/bin/env bash
# BACKUP_HOOK for MariaDB: dumps the databases into BACKUP_DIR/databases.sql in one transaction
# (consistent for InnoDB tables while the server keeps serving), plus accounts and grants into
# BACKUP_DIR/users.sql when DB_DATABASES is "all" (which leaves out the databases their apps back
# up themselves). With named databases (an app's own, dumped with the app's account) only those.
set -euo pipefail

SCRIPT_NAME=mariadb-backup-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

# Leaves out the accounts every server creates for itself (restoring root's PROXY grant needs
# privileges an admin account may lack), and drops IDENTIFIED BY PASSWORD from GRANTs: it would
# reset the password of an account that exists on the restoring server, whereas CREATE USER IF
# NOT EXISTS only brings back a missing one.
dump_users() {
  mariadb_dump --system=users --insert-ignore |
    sed -E -e "/[\`'](root|mariadb\.sys)[\`']@/d" \
      -e "/^GRANT /s/ IDENTIFIED BY PASSWORD '[^']*'//" >"$BACKUP_DIR/users.sql.partial"
  mv "$BACKUP_DIR/users.sql.partial" "$BACKUP_DIR/users.sql"
}

dump_databases() {
  mariadb_dump --single-transaction --routines --events --triggers --hex-blob \
    --databases "$@" >"$BACKUP_DIR/databases.sql.partial"
  mv "$BACKUP_DIR/databases.sql.partial" "$BACKUP_DIR/databases.sql"
  log "databases.sql: $(du -h "$BACKUP_DIR/databases.sql" | cut -f1)"
}

main() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  mariadb_connect_from_env
  local listed databases=() left_out
  if app_database_mode; then
    require_no_unfinished_app_restore
  else
    require_no_unfinished_restore
  fi
  listed=$(mariadb_target_databases)
  mapfile -t databases < <(printf '%s\n' "$listed" | sed '/^$/d')
  rm -f "$BACKUP_DIR/databases.sql" "$BACKUP_DIR/users.sql" "$BACKUP_DIR"/*.partial
  if ! app_database_mode; then
    left_out=$(mariadb_app_backed_up_databases)
    [ -z "$left_out" ] || log "left out, backed up by their apps: ${left_out//$'\n'/, }"
    timed "dump accounts and grants" dump_users
  fi
  if [ ${#databases[@]} -eq 0 ]; then
    log "no database to dump"
    return
  fi
  timed "dump databases ${databases[*]}" dump_databases "${databases[@]}"
}

main "$@"
