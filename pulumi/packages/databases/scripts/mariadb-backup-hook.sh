#!/usr/bin/env bash
# BACKUP_HOOK for MariaDB: dumps the databases into BACKUP_DIR/databases.sql in one transaction
# (consistent for InnoDB tables while the server keeps serving), plus accounts and grants into
# BACKUP_DIR/users.sql when DB_DATABASES is "all" (which leaves out the databases their apps back
# up themselves). With named databases (an app's own, dumped with the app's account) only those.
set -euo pipefail

SCRIPT_NAME=mariadb-backup-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

backup_hook "$@"
