#!/usr/bin/env bash
# RESTORE_HOOK for MariaDB: loads what mariadb-backup-hook.sh dumped into BACKUP_DIR. MariaDB cannot
# roll DDL back, so a marker exists while loading: an interrupted load is never mistaken for
# restored data.
#   DB_DATABASES=all: accounts first (existing ones are left as they are), then the databases,
#     while a marker database exists; databases their apps back up themselves are left alone.
#   named databases (an app's own, with the app's account): each must exist (the app's database
#     job creates it) and holds a marker table while loading. The dump drops each table, view,
#     routine and event before creating it, so loading again after an interrupted restore ends as
#     a first restore does.
set -euo pipefail

SCRIPT_NAME=mariadb-restore-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

restore_hook "$@"
