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

create_database "$@"
