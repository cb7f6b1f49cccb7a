#!/usr/bin/env bash
# Setup script of the jobs that run while the app's MySQL server is stopped (the restore job, the
# final backup): starts a private server on the app's data volume, listening on 127.0.0.1 only,
# through the image's own entrypoint, which initialises an empty volume exactly as the app's server
# would. Refuses while the app's server answers at DB_LIVE_HOST. mysql-server-stop.sh stops it.
set -euo pipefail

SCRIPT_NAME=mysql-server-start
# shellcheck source=mysql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-lib.sh"
# shellcheck source=private-server-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/private-server-lib.sh"

start_private_database_server
