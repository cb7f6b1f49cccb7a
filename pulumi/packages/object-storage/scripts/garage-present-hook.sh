#!/usr/bin/env bash
# RESTORE_PRESENT_HOOK of the object store: "present" when its metadata database exists, else
# "absent". The volume's other files (node key, layout, data blocks) are the restore's other part.
set -euo pipefail

SCRIPT_NAME=garage-present-hook
# shellcheck source=garage-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/garage-lib.sh"

require_env GARAGE_META_DIR
if [ -e "$GARAGE_META_DIR/db.lmdb" ]; then
  log "metadata database present"
  echo present
else
  log "no metadata database"
  echo absent
fi
