#!/usr/bin/env bash
# Cleanup script of the jobs that start a private MySQL server (mysql-server-start.sh): stops it
# with a clean shutdown (SIGTERM) and waits for it.
set -euo pipefail

SCRIPT_NAME=mysql-server-stop
# shellcheck source=mysql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-lib.sh"
# shellcheck source=private-server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-server-lib.sh"

stop_private_server TERM
