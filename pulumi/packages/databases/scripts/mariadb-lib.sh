# shellcheck shell=bash
# Shared by the MariaDB hooks (sourced, never run). The interface is in
# pulumi/packages/restic/scripts/README.md.

# Exists only while mariadb-restore-hook.sh loads dumps: it means the server holds partial data.
MARKER_DATABASE=homelab_restore_in_progress
SYSTEM_DATABASES="information_schema mysql performance_schema sys $MARKER_DATABASE"

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

mariadb_database_exists() {
  [ "$(mariadb_query -e "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '$1'")" = 1 ]
}

# Prints the databases DB_DATABASES names ("all", the default: every database but the server's
# own), one per line.
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
  local databases
  databases=$(mariadb_query -e "SHOW DATABASES")
  while IFS= read -r db; do
    case " $SYSTEM_DATABASES " in
      *" $db "*) ;;
      *) printf '%s\n' "$db" ;;
    esac
  done <<<"$databases"
}

require_no_unfinished_restore() {
  if mariadb_database_exists "$MARKER_DATABASE"; then
    die "database $MARKER_DATABASE exists: a restore did not finish and the server holds partial data;" \
      "drop the partially restored databases and $MARKER_DATABASE, then run the restore again"
  fi
}
