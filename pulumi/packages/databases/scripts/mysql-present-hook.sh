#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK for MySQL 8.4: prints "present" when one of the databases holds a table or
# view, else "absent". Fails when a previous restore did not finish. With named databases (an
# app's own) every one must hold data for "present" and none for "absent": some of each fails.
set -euo pipefail

SCRIPT_NAME=mysql-present-hook
# shellcheck source=mysql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-lib.sh"

present_hook "$@"
