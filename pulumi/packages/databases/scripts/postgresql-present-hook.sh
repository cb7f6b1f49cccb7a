#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK for PostgreSQL: prints "present" when one of the databases holds a table,
# view, sequence or other relation of its own (not of an extension), else "absent". Fails when a
# previous restore did not finish. With named databases (an app's own) every one must hold data
# for "present" and none for "absent": some of each fails.
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

relations_in() {
  if pg_database_exists "$1"; then pg_query --dbname "$1" <<<"$RELATIONS_SQL"; else echo 0; fi
}

main() {
  pg_connect_from_env
  app_database_mode || require_no_unfinished_restore
  local databases
  # Assigned first: a failed listing must stop the hook, never read as "absent".
  databases=$(pg_target_databases)
  answer_presence relations_in relations "$databases"
}

main "$@"
