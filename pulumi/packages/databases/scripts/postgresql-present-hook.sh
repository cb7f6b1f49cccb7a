#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK for PostgreSQL: prints "present" when one of the databases holds a table,
# view, sequence or other relation of its own (not of an extension), else "absent". Fails when a
# previous restore did not finish.
set -euo pipefail

SCRIPT_NAME=postgresql-present-hook
# shellcheck source=postgresql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql-lib.sh"

readonly RELATIONS_SQL="SELECT count(*) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"

main() {
  pg_connect_from_env
  require_no_unfinished_restore
  local databases db relations
  databases=$(pg_target_databases)
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    pg_database_exists "$db" || continue
    relations=$(pg_query --dbname "$db" <<<"$RELATIONS_SQL")
    if [ "$relations" -gt 0 ]; then
      log "database $db has $relations relations: data present"
      echo present
      return
    fi
  done <<<"$databases"
  log "no database holds data"
  echo absent
}

main "$@"
