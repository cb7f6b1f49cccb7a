#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK for MariaDB: prints "present" when one of the databases holds a table or
# view, else "absent". Fails when a previous restore did not finish.
set -euo pipefail

SCRIPT_NAME=mariadb-present-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

main() {
  mariadb_connect_from_env
  require_no_unfinished_restore
  local databases db tables
  databases=$(mariadb_target_databases)
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    tables=$(mariadb_query -e "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$db'")
    if [ "$tables" -gt 0 ]; then
      log "database $db has $tables tables: data present"
      echo present
      return
    fi
  done <<<"$databases"
  log "no database holds data"
  echo absent
}

main "$@"
