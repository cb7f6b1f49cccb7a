#!/usr/bin/env bash
# BACKUP_HOOK for MySQL 8.4: dumps the databases into BACKUP_DIR/databases.sql in one transaction
# (consistent for InnoDB tables while the server keeps serving), plus accounts and grants into
# BACKUP_DIR/users.sql when DB_DATABASES is "all" (which leaves out the databases their apps back
# up themselves). With named databases (an app's own, dumped with the app's account) only those.
set -euo pipefail

SCRIPT_NAME=mysql-backup-hook
# shellcheck source=mysql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-lib.sh"

backup_hook "$@"
