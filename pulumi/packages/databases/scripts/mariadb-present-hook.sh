#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK for MariaDB: prints "present" when one of the databases holds a table or
# view, else "absent". Fails when a previous restore did not finish. With named databases (an
# app's own) every one must hold data for "present" and none for "absent": some of each fails.
set -euo pipefail

SCRIPT_NAME=mariadb-present-hook
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"

present_hook "$@"
