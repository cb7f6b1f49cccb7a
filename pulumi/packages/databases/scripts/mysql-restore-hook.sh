#!/usr/bin/env bash
# RESTORE_HOOK for MySQL 8.4: loads what mysql-backup-hook.sh dumped into BACKUP_DIR, the way
# mariadb-restore-hook.sh does (MySQL cannot roll DDL back either, so a marker exists while
# loading: an interrupted load is never mistaken for restored data).
#   DB_DATABASES=all: accounts first (existing ones are left as they are), then the databases,
#     while a marker database exists; databases their apps back up themselves are left alone.
#   named databases (an app's own, with the app's account): each must exist (the app's database
#     job creates it) and holds a marker table while loading.
set -euo pipefail

SCRIPT_NAME=mysql-restore-hook
# shellcheck source=mysql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-lib.sh"

restore_hook "$@"
