#!/usr/bin/env bash
# Restores the latest snapshot of one app into BACKUP_DIR before the app starts:
#   data already there            -> skip, exit 0
#   no repository / no snapshot   -> fresh start, exit 0
#   anything else goes wrong      -> exit non-zero, so the app never starts empty.
# The environment interface is in README.md.
set -euo pipefail

SCRIPT_NAME=restore
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

read_config() {
  require_common_env
  local hook
  for hook in "${RESTORE_PRESENT_HOOK:-}" "${RESTORE_HOOK:-}"; do
    [ -z "$hook" ] || [ -f "$hook" ] || config_error "hook '$hook' does not exist"
  done
}

# Sets DATA_STATE to "present" or "absent". A present-hook answers for data that does not live in
# BACKUP_DIR (a database); it must print exactly "present" or "absent", anything else is an error.
probe_data() {
  if [ -z "${RESTORE_PRESENT_HOOK:-}" ]; then
    if [ -n "$(list_data_entries)" ]; then DATA_STATE=present; else DATA_STATE=absent; fi
    return
  fi
  local answer rc=0
  answer=$(run_hook "$RESTORE_PRESENT_HOOK") || rc=$?
  case "$rc:$answer" in
    0:present | 0:absent) DATA_STATE=$answer ;;
    *) die "present-hook $RESTORE_PRESENT_HOOK failed (exit $rc, answer '$answer')" ;;
  esac
}

clear_partial_restore() {
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$RESTORE_MARKER" -exec rm -rf {} +
}

# "latest" is the newest snapshot of the app by time, whatever its paths (`snapshots --latest`
# would give one per path, as a volume mounted elsewhere makes).
restore_latest() {
  restic restore latest --host "$BACKUP_APP" --tag "$BACKUP_APP" --target "$BACKUP_DIR"
}

main() {
  read_config
  local started=$SECONDS
  make_work_dir
  if [ -e "$BACKUP_DIR/$RESTORE_MARKER" ]; then
    # Everything in the directory was written by that unfinished restore: it starts over.
    log "a previous restore into $BACKUP_DIR did not finish"
    step "remove what the unfinished restore wrote" clear_partial_restore
  else
    probe_data
    if [ "$DATA_STATE" = present ]; then
      log "data already present: skipping the restore"
      return
    fi
    [ -z "$(list_data_entries)" ] || die "$BACKUP_DIR is not empty; refusing to restore over its content"
  fi

  local repository_state
  repository_state=$(probe_repository)
  if [ "$repository_state" = absent ]; then
    log "no repository exists yet: fresh start, nothing restored"
    rm -f "$BACKUP_DIR/$RESTORE_MARKER"
    return
  fi
  local snapshots
  snapshots=$(restic snapshots --json --host "$BACKUP_APP" --tag "$BACKUP_APP")
  if [ "$(printf '%s' "$snapshots" | tr -d '[:space:]')" = "[]" ]; then
    log "the repository has no snapshot of $BACKUP_APP: fresh start, nothing restored"
    rm -f "$BACKUP_DIR/$RESTORE_MARKER"
    return
  fi
  log "the repository has $(printf '%s' "$snapshots" | grep -o '"id":' | wc -l) snapshots of $BACKUP_APP"

  touch "$BACKUP_DIR/$RESTORE_MARKER"
  step "restore the latest snapshot into $BACKUP_DIR" restore_latest
  if [ -n "${RESTORE_HOOK:-}" ]; then
    step "restore hook $RESTORE_HOOK" run_hook "$RESTORE_HOOK"
  fi
  rm -f "$BACKUP_DIR/$RESTORE_MARKER"
  log "restore finished in $((SECONDS - started))s"
}

main "$@"
