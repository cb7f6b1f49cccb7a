# shellcheck shell=bash
# Shared by the MySQL 8.4 scripts (sourced, never run): what MySQL does differently from MariaDB.
# What they share is in mysql-family-lib.sh; the interface in pulumi/packages/restic/scripts/README.md.

# MySQL has no database comments: the databases their apps back up themselves are listed in a table
# of the platform's own database, which only the admin reaches and no backup holds (each app's
# database job marks its database again).
MARKS_DATABASE=homelab
MARKS_TABLE=databases_backed_up_by_apps

# shellcheck disable=SC2034 # used by mysql-family-lib.sh
ENGINE_NAME=MySQL CLIENT_PROGRAM=mysql DUMP_PROGRAM=mysqldump ADMIN_PROGRAM=mysqladmin \
  SERVER_PROGRAM=mysqld OWN_DATABASES="'$MARKS_DATABASE'"

# shellcheck source=mysql-family-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-family-lib.sh"

# MySQL 8 dumps no accounts (mysqldump has no --system=users), so they are read back as
# statements: each account's SHOW CREATE USER as `CREATE USER IF NOT EXISTS` (a missing account
# comes back with its password hash, plugin and settings; an existing one is left as it is), then
# every account's SHOW GRANTS (which in MySQL 8 never carry a password), after all the accounts, so
# that the roles they grant exist. Leaves out root and the accounts MySQL reserves for itself
# (mysql.sys, mysql.session, mysql.infoschema).
dump_accounts() {
  local accounts account statement
  accounts=$(db_query --raw -e "SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user
    WHERE user <> 'root' AND user NOT LIKE 'mysql.%' ORDER BY user, host")
  while IFS= read -r account; do
    [ -n "$account" ] || continue
    # caching_sha2_password's hashes hold unprintable bytes, which only a hex literal replays as
    # they are (MySQL 8.4 manual, "SHOW CREATE USER"). MySQL 8.0.17 and newer run the versioned
    # comment; MariaDB skips those versioned 50700 to 99999 ("Comment Syntax"): MySQL's alone.
    statement=$(db_query --raw -e "/*!80017 SET SESSION print_identified_with_as_hex = ON */;
      SHOW CREATE USER $account")
    [[ "$statement" == "CREATE USER "* ]] || die "SHOW CREATE USER $account printed no CREATE USER"
    printf 'CREATE USER IF NOT EXISTS %s;\n' "${statement#CREATE USER }"
  done <<<"$accounts"
  while IFS= read -r account; do
    [ -n "$account" ] || continue
    db_query --raw -e "SHOW GRANTS FOR $account" | sed 's/$/;/'
  done <<<"$accounts"
}

marks_table_exists() {
  db_count "SELECT count(*) FROM information_schema.tables
    WHERE table_schema = '$MARKS_DATABASE' AND table_name = '$MARKS_TABLE'"
  [ "$COUNT" -gt 0 ]
}

app_backed_up_databases() {
  marks_table_exists || return 0
  db_query --raw -e "SELECT name FROM $MARKS_DATABASE.$MARKS_TABLE ORDER BY name"
}

# mark_backed_up_by_app DATABASE app|server: lists the database, or takes it off the list.
mark_backed_up_by_app() {
  if [ "$2" = app ]; then
    timed "mark database $1 as backed up by its app" db_query <<SQL
CREATE DATABASE IF NOT EXISTS $MARKS_DATABASE;
CREATE TABLE IF NOT EXISTS $MARKS_DATABASE.$MARKS_TABLE
  (name varchar(64) NOT NULL PRIMARY KEY) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
INSERT IGNORE INTO $MARKS_DATABASE.$MARKS_TABLE VALUES ($(sql_string "$1"));
SQL
    return
  fi
  marks_table_exists || return 0
  db_count "SELECT count(*) FROM $MARKS_DATABASE.$MARKS_TABLE WHERE name = $(sql_string "$1")"
  if [ "$COUNT" -gt 0 ]; then
    timed "unmark database $1: back in the server's backup" \
      db_query -e "DELETE FROM $MARKS_DATABASE.$MARKS_TABLE WHERE name = $(sql_string "$1")"
  fi
}
