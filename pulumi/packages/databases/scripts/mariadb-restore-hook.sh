#!/usr/bin/env bash
# RESTORE_HOOK for MariaDB: loads what mariadb-backup-hook.sh dumped into BACKUP_DIR. MariaDB cannot
# roll DDL back, so a marker exists while loading: an interrupted load is never mistaken for
# restored data.
#   DB_DATABASES=all: accounts first (existing ones are left as they are), then the databases,
#     while a marker database exists; databases their apps back up themselves are left alone.
#   named databases (an app's own, with the app's account): each must exist (the app's database
#     job creates it) and holds a marker table while loading. The dump drops each table, view,
#     routine and event before creating it, so loading again after an interrupted restore ends as
#     a first restore does.
set -euo pipefail

SCRIPT_NAME=mariadb-restore-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

load() {
  mariadb --defaults-extra-file="$MARIADB_OPTIONS" --batch <"$1"
}

# Prints the databases a mariadb-dump --databases file holds, from the "-- Current Database: `x`"
# comment it writes before each database's statements, one per line.
# shellcheck disable=SC2016 # the backquotes are SQL's
dumped_databases() {
  { grep -a '^-- Current Database: `' "$1" || true; } |
    sed -e 's/^-- Current Database: `//' -e 's/`$//' -e 's/``/`/g' | sort -u
}

# dump_without FILE: prints the dump without the sections of the databases SKIP_DATABASES lists
# (one per line): each section runs from its "-- Current Database" comment to the next one.
dump_without() {
  awk '
    BEGIN {
      n = split(ENVIRON["SKIP_DATABASES"], names, "\n")
      for (i = 1; i <= n; i++) {
        name = names[i]
        gsub(/`/, "``", name)
        skipped["`" name "`"] = 1
      }
    }
    /^-- Current Database: `/ { dropping = (substr($0, 22) in skipped) }
    !dropping { print }
  ' "$1"
}

restore_databases() {
  local file=$BACKUP_DIR/databases.sql skip
  skip=$(comm -12 <(dumped_databases "$file") <(mariadb_app_backed_up_databases | sort -u))
  if [ -z "$skip" ]; then
    load "$file"
    return
  fi
  log "databases backed up by their apps, left as they are: ${skip//$'\n'/, }"
  SKIP_DATABASES=$skip dump_without "$file" >"$MARIADB_WORK_DIR/databases.sql"
  load "$MARIADB_WORK_DIR/databases.sql"
}

restore_server() {
  require_no_unfinished_restore
  if [ ! -f "$BACKUP_DIR/databases.sql" ] && [ ! -f "$BACKUP_DIR/users.sql" ]; then
    die "no MariaDB dump in $BACKUP_DIR"
  fi
  mariadb_query -e "CREATE DATABASE $MARKER_DATABASE"
  if [ -f "$BACKUP_DIR/users.sql" ]; then
    timed "restore accounts and grants" load "$BACKUP_DIR/users.sql"
  fi
  if [ -f "$BACKUP_DIR/databases.sql" ]; then
    timed "restore databases" restore_databases
  fi
  mariadb_query -e "DROP DATABASE $MARKER_DATABASE"
}

# As the app's account: the marker table exists in every target database until all of them are
# loaded. A marker left by an interrupted restore is reused.
restore_app() {
  local listed databases=() db
  listed=$(mariadb_target_databases)
  mapfile -t databases < <(printf '%s\n' "$listed" | sed '/^$/d')
  [ ! -f "$BACKUP_DIR/users.sql" ] || log "ignoring users.sql: accounts are the server's"
  if [ ! -f "$BACKUP_DIR/databases.sql" ]; then
    log "warning: the snapshot holds no dump of databases ${databases[*]} (added to the app later?): left as they are"
    return
  fi
  for db in "${databases[@]}"; do
    mariadb_database_exists "$db" ||
      die "database $db does not exist: the app's database job creates it (empty) before the restore"
  done
  for db in "${databases[@]}"; do
    mariadb_query -e "CREATE TABLE IF NOT EXISTS $(sql_identifier "$db").$MARKER_TABLE
      (started timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)"
  done
  timed "restore databases ${databases[*]}" load "$BACKUP_DIR/databases.sql"
  for db in "${databases[@]}"; do
    mariadb_query -e "DROP TABLE $(sql_identifier "$db").$MARKER_TABLE"
  done
}

main() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  mariadb_connect_from_env
  if app_database_mode; then
    restore_app
  else
    restore_server
  fi
}

main "$@"
