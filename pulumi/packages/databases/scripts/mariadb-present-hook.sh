#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK for MariaDB: prints "present" when one of the databases holds a table or
# view, else "absent". Fails when a previous restore did not finish. With named databases (an
# app's own) every one must hold data for "present" and none for "absent": some of each fails.
set -euo pipefail

SCRIPT_NAME=mariadb-present-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

# Tables and views of a database, the restore marker not counted.
tables_in() {
  mariadb_query -e "SELECT count(*) FROM information_schema.tables
    WHERE table_schema = $(sql_string "$1") AND table_name <> '$MARKER_TABLE'"
}

main() {
  mariadb_connect_from_env
  if app_database_mode; then require_no_unfinished_app_restore; else require_no_unfinished_restore; fi
  local databases
  # Assigned first: a failed listing must stop the hook, never read as "absent".
  databases=$(mariadb_target_databases)
  answer_presence tables_in tables "$databases"
}

main "$@"
