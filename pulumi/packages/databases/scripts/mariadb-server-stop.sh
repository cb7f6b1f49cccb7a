#!/usr/bin/env bash
# Cleanup script of the jobs that start a private MariaDB server (mariadb-server-start.sh): stops
# it with a clean shutdown (SIGTERM) and waits for it.
set -euo pipefail

SCRIPT_NAME=mariadb-server-stop
# shellcheck source=mariadb-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb-lib.sh"
# shellcheck source=private-server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-server-lib.sh"

stop_private_server TERM
