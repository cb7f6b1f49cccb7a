# shellcheck shell=bash
# Shared by the PostgreSQL hooks (sourced, never run). The interface is in
# pulumi/packages/restic/scripts/README.md.

# Exists only while postgresql-restore-hook.sh loads dumps: it means the server holds partial data.
MARKER_DATABASE=homelab_restore_in_progress

# shellcheck source=database-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/database-lib.sh"

# libpq reads the PG* variables itself, so every client below connects the same way. In the
# app-database mode the app's account connects to its own database (it may reach no other).
pg_connect_from_env() {
  [ -n "${DB_HOST:-}" ] || die "DB_HOST is not set"
  export PGHOST="$DB_HOST" PGPORT="${DB_PORT:-5432}" PGUSER="${DB_USER:-postgres}"
  local maintenance=postgres
  if app_database_mode; then
    maintenance=$(pg_target_databases | head -n 1)
    [ -n "$maintenance" ] || die "DB_DATABASES names no database"
  fi
  export PGDATABASE="${DB_MAINTENANCE_DATABASE:-$maintenance}"
  export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" PGAPPNAME="$SCRIPT_NAME"
  if [ -n "${DB_PASSWORD_FILE:-}" ]; then
    [ -r "$DB_PASSWORD_FILE" ] || die "DB_PASSWORD_FILE '$DB_PASSWORD_FILE' is not readable"
    PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
    export PGPASSWORD
  fi
}

pg_query() {
  psql --no-psqlrc --quiet --no-align --tuples-only --set ON_ERROR_STOP=1 "$@"
}

# Whether a database exists; a failed query is fatal (errexit does not reach into conditions).
pg_database_exists() {
  local count
  count=$(pg_query --set name="$1" <<<"SELECT count(*) FROM pg_database WHERE datname = :'name'") ||
    die "cannot query the server's databases"
  [ "$count" = 1 ]
}

# Prints the databases DB_DATABASES names ("all", the default: every database that accepts
# connections, but those their apps back up themselves), one per line.
pg_target_databases() {
  local list=${DB_DATABASES:-all} db
  if [ "$list" = all ]; then
    pg_query --set marker="$MARKER_DATABASE" --set app_backup="$APP_BACKUP_COMMENT" <<<"SELECT datname
      FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> :'marker'
        AND shobj_description(oid, 'pg_database') IS DISTINCT FROM :'app_backup' ORDER BY datname"
    return
  fi
  local names
  IFS=', ' read -r -a names <<<"$list"
  for db in "${names[@]}"; do
    printf '%s\n' "$db"
  done
}

# Prints the databases whose apps back them up themselves (their comment says so), one per line.
pg_app_backed_up_databases() {
  pg_query --set app_backup="$APP_BACKUP_COMMENT" <<<"SELECT datname FROM pg_database
    WHERE shobj_description(oid, 'pg_database') = :'app_backup' ORDER BY datname"
}

require_no_unfinished_restore() {
  if pg_database_exists "$MARKER_DATABASE"; then
    die "database $MARKER_DATABASE exists: a restore did not finish and the server holds partial data;" \
      "drop the partially restored databases and $MARKER_DATABASE, then run the restore again"
  fi
}
