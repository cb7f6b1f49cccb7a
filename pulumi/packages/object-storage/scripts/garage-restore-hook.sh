#!/usr/bin/env bash
# RESTORE_HOOK of the object store: puts the restored metadata copy (BACKUP_DIR/metadata.lmdb)
# in place as the store's database, as Garage's own recovery from a snapshot does, before the
# store first starts on the volume.
set -euo pipefail

SCRIPT_NAME=garage-restore-hook
# shellcheck source=garage-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/garage-lib.sh"

main() {
  require_env BACKUP_DIR GARAGE_META_DIR
  local copy=$BACKUP_DIR/metadata.lmdb
  [ -d "$copy" ] || die "the snapshot holds no metadata.lmdb: it is not a backup of the object store"
  mkdir -p "$GARAGE_META_DIR"
  rm -rf "$GARAGE_META_DIR/db.lmdb"
  cp -a "$copy" "$GARAGE_META_DIR/db.lmdb"
  log "metadata database restored ($(du -sb "$GARAGE_META_DIR/db.lmdb" | cut -f1) bytes)"
}

main "$@"
