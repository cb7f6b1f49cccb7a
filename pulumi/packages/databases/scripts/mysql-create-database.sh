#!/usr/bin/env bash
# Gives an app its own database and account on the MySQL server, idempotently, as
# mariadb-create-database.sh does on MariaDB (same variables): the database and 'APP_USER'@'%'
# (MySQL 8.4's default plugin, caching_sha2_password) with every privilege on that database only,
# listed as backed up by its app or not. Run by the app's database job as the server's admin.
set -euo pipefail

SCRIPT_NAME=mysql-create-database
# shellcheck source=mysql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-lib.sh"

create_database "$@"
