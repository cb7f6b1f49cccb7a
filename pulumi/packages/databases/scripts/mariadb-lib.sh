# shellcheck shell=bash
# Shared by the MariaDB hooks (sourced, never run). The interface is in
# pulumi/packages/restic/scripts/README.md.

# Exists only while mariadb-restore-hook.sh loads dumps: it means the server holds partial data.
MARKER_DATABASE=homelab_restore_in_progress
# In the app-database mode the marker is a table inside each database being loaded (the app's
# account can create no database).
MARKER_TABLE=homelab_restore_in_progress

# shellcheck source=database-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/database-lib.sh"

# The clients read the connection from an option file, which keeps the password off the command
# line; inside double quotes the option parser unescapes \\ and \".
mariadb_connect_from_env() {
  [ -n "${DB_HOST:-}" ] || die "DB_HOST is not set"
  MARIADB_WORK_DIR=$(mktemp -d)
  trap 'rm -rf "$MARIADB_WORK_DIR"' EXIT
  MARIADB_OPTIONS="$MARIADB_WORK_DIR/client.cnf"
  local password=""
  if [ -n "${DB_PASSWORD_FILE:-}" ]; then
    [ -r "$DB_PASSWORD_FILE" ] || die "DB_PASSWORD_FILE '$DB_PASSWORD_FILE' is not readable"
    password=$(cat "$DB_PASSWORD_FILE")
    password=${password//\\/\\\\}
    password=${password//\"/\\\"}
  fi
  (
    umask 077
    printf '[client]\nhost=%s\nport=%s\nuser=%s\nprotocol=TCP\n' \
      "$DB_HOST" "${DB_PORT:-3306}" "${DB_USER:-root}" >"$MARIADB_OPTIONS"
    [ -z "$password" ] || printf 'password="%s"\n' "$password" >>"$MARIADB_OPTIONS"
  )
}

mariadb_query() {
  mariadb --defaults-extra-file="$MARIADB_OPTIONS" --connect-timeout=10 --batch --skip-column-names "$@"
}

mariadb_dump() {
  mariadb-dump --defaults-extra-file="$MARIADB_OPTIONS" "$@"
}

# A string literal: backslashes and quotes escaped (the server's default SQL mode).
sql_string() {
  local value=${1//\\/\\\\}
  printf "'%s'" "${value//\'/\\\'}"
}

# An identifier in backquotes; a backquote inside is doubled.
# shellcheck disable=SC2016 # the backquotes are SQL's
sql_identifier() {
  printf '`%s`' "${1//\`/\`\`}"
}

# mariadb_count SQL: sets COUNT to the number a counting query prints; a failed query is fatal
# (errexit does not reach into the conditions this is used in).
mariadb_count() {
  COUNT=$(mariadb_query -e "$1") || die "cannot query the server"
}

mariadb_database_exists() {
  mariadb_count "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $(sql_string "$1")"
  [ "$COUNT" = 1 ]
}

# Prints the databases DB_DATABASES names ("all", the default: every database but the server's
# own and those their apps back up themselves), one per line.
mariadb_target_databases() {
  local list=${DB_DATABASES:-all} db
  if [ "$list" != all ]; then
    local names
    IFS=', ' read -r -a names <<<"$list"
    for db in "${names[@]}"; do
      printf '%s\n' "$db"
    done
    return
  fi
  mariadb_query -e "SELECT schema_name FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys', '$MARKER_DATABASE')
      AND schema_comment <> $(sql_string "$APP_BACKUP_COMMENT") ORDER BY schema_name"
}

# Prints the databases whose apps back them up themselves (their comment says so), one per line,
# unescaped.
mariadb_app_backed_up_databases() {
  mariadb_query --raw -e "SELECT schema_name FROM information_schema.schemata
    WHERE schema_comment = $(sql_string "$APP_BACKUP_COMMENT") ORDER BY schema_name"
}

require_no_unfinished_restore() {
  if mariadb_database_exists "$MARKER_DATABASE"; then
    die "database $MARKER_DATABASE exists: a restore did not finish and the server holds partial data;" \
      "drop the partially restored databases and $MARKER_DATABASE, then run the restore again"
  fi
}

# Whether a restore into an app's database did not finish: its marker table exists.
mariadb_has_marker_table() {
  mariadb_count "SELECT count(*) FROM information_schema.tables
    WHERE table_schema = $(sql_string "$1") AND table_name = '$MARKER_TABLE'"
  [ "$COUNT" -gt 0 ]
}

# The app-database mode's marker: fails while a target database holds the marker table.
require_no_unfinished_app_restore() {
  local databases db
  databases=$(mariadb_target_databases)
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    if mariadb_has_marker_table "$db"; then
      die "database $db holds table $MARKER_TABLE: a restore into it did not finish and it holds" \
        "partial data; run the app's restore again (after a restore that died it reloads by itself)," \
        "or drop the database's tables, $MARKER_TABLE included, and run it again"
    fi
  done <<<"$databases"
}
