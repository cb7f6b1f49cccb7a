#!/usr/bin/env bash
# Gives an app its own database and account on the MariaDB server, idempotently: creates the
# database and the account ('APP_USER'@'%') when missing, sets the account's password and grants it
# everything on that database only. Run by the app's database job as the server's admin.
#   DB_HOST, DB_PORT, DB_USER   the server and its admin account (as for the hooks)
#   DB_ADMIN_PASSWORD           the admin's password
#   APP_DATABASE, APP_USER      the database and account (any text: they are quoted)
#   APP_PASSWORD                the account's password
set -euo pipefail

SCRIPT_NAME=mariadb-create-database
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

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

# In a database-level GRANT, "_" and "%" in the name are wildcards: escaped, they match themselves.
grant_target() {
  local name=${1//\\/\\\\}
  name=${name//_/\\_}
  sql_identifier "${name//%/\\%}"
}

main() {
  local name account admin_password_file
  for name in DB_ADMIN_PASSWORD APP_DATABASE APP_USER APP_PASSWORD; do
    [ -n "${!name:-}" ] || die "$name is not set"
  done
  # The client reads the admin password from its option file, written by mariadb_connect_from_env.
  admin_password_file=$(mktemp)
  printf '%s' "$DB_ADMIN_PASSWORD" >"$admin_password_file"
  DB_PASSWORD_FILE=$admin_password_file mariadb_connect_from_env
  rm -f "$admin_password_file"
  account="$(sql_string "$APP_USER")@'%'"
  timed "database $APP_DATABASE for account $APP_USER" mariadb_query <<SQL
CREATE DATABASE IF NOT EXISTS $(sql_identifier "$APP_DATABASE");
CREATE USER IF NOT EXISTS $account IDENTIFIED BY $(sql_string "$APP_PASSWORD");
ALTER USER $account IDENTIFIED BY $(sql_string "$APP_PASSWORD");
GRANT ALL PRIVILEGES ON $(grant_target "$APP_DATABASE").* TO $account;
SQL
}

main "$@"
