#!/usr/bin/env bash
# Cleanup script of the jobs that start a private PostgreSQL server (postgresql-server-start.sh):
# stops it with a fast shutdown (SIGINT: sessions end, everything is written) and waits for it.
set -euo pipefail

SCRIPT_NAME=postgresql-server-stop
# shellcheck source=postgresql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql-lib.sh"
# shellcheck source=private-server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-server-lib.sh"

stop_private_server INT
