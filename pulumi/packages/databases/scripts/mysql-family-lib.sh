# shellcheck shell=bash
# Shared by the MariaDB and the MySQL scripts (sourced by mariadb-lib.sh and mysql-lib.sh, never
# run): the two servers speak one protocol, and everything here is SQL and client options both
# accept. Each kind's library names its programs and defines what differs:
#   ENGINE_NAME                    the server's name, in messages
#   CLIENT_PROGRAM, DUMP_PROGRAM   its client and dump tools
#   ADMIN_PROGRAM, SERVER_PROGRAM  its admin tool (ping) and its server
#   OWN_DATABASES                  databases of the platform's own to leave alone (quoted SQL
#                                  strings, comma-separated), if any
#   dump_accounts                  prints the accounts and grants of the server's backup as SQL
#   app_backed_up_databases        prints the databases marked as backed up by their apps
#   mark_backed_up_by_app DB MODE  marks a database ("app") or removes the mark ("server")
# The interface is in pulumi/packages/restic/scripts/README.md.

# Exists only while a server restore loads dumps: it means the server holds partial data.
MARKER_DATABASE=homelab_restore_in_progress
# In the app-database mode the marker is a table inside each database being loaded (the app's
# account can create no database).
MARKER_TABLE=homelab_restore_in_progress

# shellcheck source=database-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/database-lib.sh"

# The clients read the connection from an option file, which keeps the password off the command
# line; inside double quotes the option parser unescapes \\ and \".
db_connect_from_env() {
  [ -n "${DB_HOST:-}" ] || die "DB_HOST is not set"
  WORK_DIR=$(mktemp -d)
  trap 'rm -rf "$WORK_DIR"' EXIT
  CLIENT_OPTIONS="$WORK_DIR/client.cnf"
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
      "$DB_HOST" "${DB_PORT:-3306}" "${DB_USER:-root}" >"$CLIENT_OPTIONS"
    [ -z "$password" ] || printf 'password="%s"\n' "$password" >>"$CLIENT_OPTIONS"
  )
}

db_query() {
  "$CLIENT_PROGRAM" --defaults-extra-file="$CLIENT_OPTIONS" --connect-timeout=10 --batch --skip-column-names "$@"
}

db_dump() {
  "$DUMP_PROGRAM" --defaults-extra-file="$CLIENT_OPTIONS" "$@"
}

db_load() {
  "$CLIENT_PROGRAM" --defaults-extra-file="$CLIENT_OPTIONS" --batch <"$1"
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

# db_count SQL: sets COUNT to the number a counting query prints; a failed query is fatal
# (errexit does not reach into the conditions this is used in).
db_count() {
  COUNT=$(db_query -e "$1") || die "cannot query the server"
}

db_database_exists() {
  db_count "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $(sql_string "$1")"
  [ "$COUNT" = 1 ]
}

# Prints the databases DB_DATABASES names ("all", the default: every database but the server's
# own, the platform's and those their apps back up themselves), one per line.
db_target_databases() {
  local list=${DB_DATABASES:-all} db all marked
  if [ "$list" != all ]; then
    local names
    IFS=', ' read -r -a names <<<"$list"
    for db in "${names[@]}"; do
      printf '%s\n' "$db"
    done
    return
  fi
  all=$(db_query --raw -e "SELECT schema_name FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys',
      '$MARKER_DATABASE'${OWN_DATABASES:+, $OWN_DATABASES}) ORDER BY schema_name") || return
  marked=$(app_backed_up_databases) || return
  printf '%s\n' "$all" | grep -vxF -f <(printf '%s\n' "$marked") || [ $? -eq 1 ]
}

require_no_unfinished_restore() {
  if db_database_exists "$MARKER_DATABASE"; then
    die "database $MARKER_DATABASE exists: a restore did not finish and the server holds partial data;" \
      "drop the partially restored databases and $MARKER_DATABASE, then run the restore again"
  fi
}

# Whether a restore into an app's database did not finish: its marker table exists.
db_has_marker_table() {
  db_count "SELECT count(*) FROM information_schema.tables
    WHERE table_schema = $(sql_string "$1") AND table_name = '$MARKER_TABLE'"
  [ "$COUNT" -gt 0 ]
}

# The app-database mode's marker: fails while a target database holds the marker table.
require_no_unfinished_app_restore() {
  local databases db
  databases=$(db_target_databases)
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    if db_has_marker_table "$db"; then
      die "database $db holds table $MARKER_TABLE: a restore into it did not finish and it holds" \
        "partial data; run the app's restore again (after a restore that died it reloads by itself)," \
        "or drop the database's tables, $MARKER_TABLE included, and run it again"
    fi
  done <<<"$databases"
}

require_no_unfinished_restore_of_mode() {
  if app_database_mode; then require_no_unfinished_app_restore; else require_no_unfinished_restore; fi
}

# --- BACKUP_HOOK ---------------------------------------------------------------------------------

dump_users() {
  dump_accounts >"$BACKUP_DIR/users.sql.partial"
  mv "$BACKUP_DIR/users.sql.partial" "$BACKUP_DIR/users.sql"
}

# One transaction (consistent for InnoDB tables while the server keeps serving). Neither server
# keeps tablespaces of the platform's, and MySQL lets only PROCESS read them.
dump_databases() {
  db_dump --single-transaction --routines --events --triggers --hex-blob --no-tablespaces \
    --databases "$@" >"$BACKUP_DIR/databases.sql.partial"
  mv "$BACKUP_DIR/databases.sql.partial" "$BACKUP_DIR/databases.sql"
  log "databases.sql: $(du -h "$BACKUP_DIR/databases.sql" | cut -f1)"
}

backup_hook() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  db_connect_from_env
  local listed databases=() left_out
  require_no_unfinished_restore_of_mode
  listed=$(db_target_databases)
  mapfile -t databases < <(printf '%s\n' "$listed" | sed '/^$/d')
  rm -f "$BACKUP_DIR/databases.sql" "$BACKUP_DIR/users.sql" "$BACKUP_DIR"/*.partial
  if ! app_database_mode; then
    left_out=$(app_backed_up_databases)
    [ -z "$left_out" ] || log "left out, backed up by their apps: ${left_out//$'\n'/, }"
    timed "dump accounts and grants" dump_users
  fi
  if [ ${#databases[@]} -eq 0 ]; then
    log "no database to dump"
    return
  fi
  timed "dump databases ${databases[*]}" dump_databases "${databases[@]}"
}

# --- RESTORE_PRESENT_HOOK ------------------------------------------------------------------------

# Tables and views of a database, the restore marker not counted.
tables_in() {
  db_query -e "SELECT count(*) FROM information_schema.tables
    WHERE table_schema = $(sql_string "$1") AND table_name <> '$MARKER_TABLE'"
}

present_hook() {
  db_connect_from_env
  require_no_unfinished_restore_of_mode
  local databases
  # Assigned first: a failed listing must stop the hook, never read as "absent".
  databases=$(db_target_databases)
  answer_presence tables_in tables "$databases"
}

# --- RESTORE_HOOK --------------------------------------------------------------------------------

# Prints the databases a dump of `--databases` holds, from the "-- Current Database: `x`" comment
# both dump tools write before each database's statements, one per line.
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
  skip=$(comm -12 <(dumped_databases "$file") <(app_backed_up_databases | sort -u))
  if [ -z "$skip" ]; then
    db_load "$file"
    return
  fi
  log "databases backed up by their apps, left as they are: ${skip//$'\n'/, }"
  SKIP_DATABASES=$skip dump_without "$file" >"$WORK_DIR/databases.sql"
  db_load "$WORK_DIR/databases.sql"
}

restore_server() {
  require_no_unfinished_restore
  if [ ! -f "$BACKUP_DIR/databases.sql" ] && [ ! -f "$BACKUP_DIR/users.sql" ]; then
    die "no $ENGINE_NAME dump in $BACKUP_DIR"
  fi
  db_query -e "CREATE DATABASE $MARKER_DATABASE"
  if [ -f "$BACKUP_DIR/users.sql" ]; then
    timed "restore accounts and grants" db_load "$BACKUP_DIR/users.sql"
  fi
  if [ -f "$BACKUP_DIR/databases.sql" ]; then
    timed "restore databases" restore_databases
  fi
  db_query -e "DROP DATABASE $MARKER_DATABASE"
}

# As the app's account: the marker table exists in every target database until all of them are
# loaded. A marker left by an interrupted restore is reused.
restore_app() {
  local listed databases=() db
  listed=$(db_target_databases)
  mapfile -t databases < <(printf '%s\n' "$listed" | sed '/^$/d')
  [ ! -f "$BACKUP_DIR/users.sql" ] || log "ignoring users.sql: accounts are the server's"
  if [ ! -f "$BACKUP_DIR/databases.sql" ]; then
    log "warning: the snapshot holds no dump of databases ${databases[*]} (added to the app later?): left as they are"
    return
  fi
  for db in "${databases[@]}"; do
    db_database_exists "$db" ||
      die "database $db does not exist: the app's database job creates it (empty) before the restore"
  done
  for db in "${databases[@]}"; do
    db_query -e "CREATE TABLE IF NOT EXISTS $(sql_identifier "$db").$MARKER_TABLE
      (started timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)"
  done
  timed "restore databases ${databases[*]}" db_load "$BACKUP_DIR/databases.sql"
  for db in "${databases[@]}"; do
    db_query -e "DROP TABLE $(sql_identifier "$db").$MARKER_TABLE"
  done
}

restore_hook() {
  [ -d "${BACKUP_DIR:-}" ] || die "BACKUP_DIR is not a directory"
  db_connect_from_env
  if app_database_mode; then
    restore_app
  else
    restore_server
  fi
}

# --- an app's database (*-create-database.sh) ----------------------------------------------------

# In a database-level GRANT, "_" and "%" in the name are wildcards: escaped, they match themselves.
grant_target() {
  local name=${1//\\/\\\\}
  name=${name//_/\\_}
  sql_identifier "${name//%/\\%}"
}

# Without a plugin named, each server's default: MySQL 8.4's caching_sha2_password, MariaDB's
# mysql_native_password.
create_database() {
  local account admin_password_file backup
  backup=$(app_database_backup)
  # The client reads the admin password from its option file, written by db_connect_from_env.
  admin_password_file=$(mktemp)
  printf '%s' "$DB_ADMIN_PASSWORD" >"$admin_password_file"
  DB_PASSWORD_FILE=$admin_password_file db_connect_from_env
  rm -f "$admin_password_file"
  account="$(sql_string "$APP_USER")@'%'"
  timed "database $APP_DATABASE for account $APP_USER" db_query <<SQL
CREATE DATABASE IF NOT EXISTS $(sql_identifier "$APP_DATABASE");
CREATE USER IF NOT EXISTS $account IDENTIFIED BY $(sql_string "$APP_PASSWORD");
ALTER USER $account IDENTIFIED BY $(sql_string "$APP_PASSWORD");
GRANT ALL PRIVILEGES ON $(grant_target "$APP_DATABASE").* TO $account;
SQL
  mark_backed_up_by_app "$APP_DATABASE" "$backup"
}

# --- the private server (*-server-start.sh) ------------------------------------------------------

# `ping` succeeds whenever a server answers, even when it refuses the login.
answers() {
  "$ADMIN_PROGRAM" --no-defaults --protocol=TCP --host="$1" --port="${DB_PORT:-3306}" --connect-timeout=5 \
    ping >/dev/null 2>&1
}

live_server_runs() {
  answers "$DB_LIVE_HOST"
}

# The entrypoint's own initialisation server skips networking: TCP answers only once the server
# it finally starts is up.
private_server_ready() {
  answers 127.0.0.1
}

# The server's own command (its data directory inside the volume, DB_SERVER_DATADIR, which the
# entrypoint reads from the arguments, and DB_SERVER_OPTIONS), on 127.0.0.1 only, through the
# image's entrypoint.
start_private_database_server() {
  [ -n "${DB_SERVER_DATADIR:-}" ] || die "DB_SERVER_DATADIR is not set: the server's data directory in its volume"
  local options=()
  read -r -a options <<<"${DB_SERVER_OPTIONS:-}"
  refuse_while_live_server_runs live_server_runs
  start_private_server private_server_ready "${DB_SERVER_ENTRYPOINT:-docker-entrypoint.sh}" \
    "$SERVER_PROGRAM" --datadir="$DB_SERVER_DATADIR" "${options[@]}" --bind-address=127.0.0.1 \
    --port="${DB_PORT:-3306}"
}
