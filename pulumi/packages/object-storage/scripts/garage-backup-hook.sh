#!/usr/bin/env bash
# BACKUP_HOOK of the object store: copies a consistent copy of its metadata database into
# BACKUP_DIR as metadata.lmdb (the volume's live database is left out of the snapshot). While the
# store runs (GARAGE_ADMIN_URL is set: the scheduled backup) it asks the store for a metadata
# snapshot and copies the new one; while it is stopped (the final backup) the database is at rest
# and copied as it is. Data blocks are immutable files and are backed up with the volume after
# this; a block the metadata still names is deleted only after Garage's block GC delay.
#
# GARAGE_META_DIR  the store's metadata directory as mounted in this job
set -euo pipefail

SCRIPT_NAME=garage-backup-hook
# shellcheck source=garage-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/garage-lib.sh"

newest_snapshot() {
  [ -d "$GARAGE_META_DIR/snapshots" ] || return 0
  find "$GARAGE_META_DIR/snapshots" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n 1
}

main() {
  require_env BACKUP_DIR GARAGE_META_DIR
  local source target=$BACKUP_DIR/metadata.lmdb
  if [ -n "${GARAGE_ADMIN_URL:-}" ]; then
    local before after errors
    before=$(newest_snapshot)
    garage_api POST "/v2/CreateMetadataSnapshot?node=self"
    errors=$(jq -r '.error // {} | to_entries | map("\(.key): \(.value)") | join("; ")' <<<"$GARAGE_RESPONSE")
    [ -z "$errors" ] || die "the store could not snapshot its metadata: $errors"
    after=$(newest_snapshot)
    if [ -z "$after" ] || [ "$after" = "$before" ]; then
      die "the store reported a metadata snapshot, but $GARAGE_META_DIR/snapshots holds no new one"
    fi
    source=$GARAGE_META_DIR/snapshots/$after
    log "metadata snapshot $after taken"
  else
    source=$GARAGE_META_DIR/db.lmdb
    [ -d "$source" ] || die "the stopped store has no metadata database $source"
    log "the store is stopped: its metadata database is copied as it is"
  fi
  rm -rf "$target"
  cp -a "$source" "$target"
  log "metadata copied to $target ($(du -sb "$target" | cut -f1) bytes)"
}

main "$@"
