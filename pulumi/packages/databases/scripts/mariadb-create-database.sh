#!/usr/bin/env bash
# Gives an app its own database and account on the MariaDB server, idempotently: creates the
# database and the account ('APP_USER'@'%') when missing, sets the account's password and grants it
# everything on that database only; marks the database as backed up by its app, or not. Run by the
# app's database job as the server's admin.
#   DB_HOST, DB_PORT, DB_USER   the server and its admin account (as for the hooks)
#   DB_ADMIN_PASSWORD           the admin's password
#   APP_DATABASE, APP_USER      the database and account (any text: they are quoted)
#   APP_PASSWORD                the account's password
#   APP_DATABASE_BACKUP         "server" (default): in the server's backup; "app": the app backs it
#                               up itself, the server's backup leaves it out
set -euo pipefail

SCRIPT_NAME=mariadb-create-database
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

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
  local backup=${APP_DATABASE_BACKUP:-server}
  case "$backup" in
    server | app) ;;
    *) die "APP_DATABASE_BACKUP must be 'server' or 'app', got '$backup'" ;;
  esac
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
  # The comment that leaves the database out of the server's backup: set, or removed when it is
  # set (any other comment stays).
  local database current
  database=$(sql_identifier "$APP_DATABASE")
  if [ "$backup" = app ]; then
    timed "mark database $APP_DATABASE as backed up by its app" \
      mariadb_query -e "ALTER DATABASE $database COMMENT = $(sql_string "$APP_BACKUP_COMMENT")"
    return
  fi
  current=$(mariadb_query --raw -e "SELECT schema_comment FROM information_schema.schemata
    WHERE schema_name = $(sql_string "$APP_DATABASE")")
  if [ "$current" = "$APP_BACKUP_COMMENT" ]; then
    timed "unmark database $APP_DATABASE: back in the server's backup" \
      mariadb_query -e "ALTER DATABASE $database COMMENT = ''"
  fi
}

main "$@"
