#!/usr/bin/env bash
# Restores the latest snapshot of one app (or exactly RESTORE_SNAPSHOT) into BACKUP_DIR before the
# app starts, and takes the app's hold for this server (BACKUP_SERVER):
#   data already there            -> skip, exit 0
#   no repository ever created    -> fresh start, exit 0 (its place's records say so)
#   no snapshot of the app        -> fresh start, exit 0
#   only part of the data there   -> exit non-zero, touching nothing (with BACKUP_VOLUMES)
#   another server holds the app  -> exit non-zero, touching nothing (unless RESTORE_FORCE_HOLD)
#   anything else goes wrong      -> exit non-zero, so the app never starts empty.
# The environment interface is in README.md.
set -euo pipefail

SCRIPT_NAME=restore
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=notify-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/notify-lib.sh"

read_config() {
  require_common_env
  local hook
  for hook in "${RESTORE_PRESENT_HOOK:-}" "${RESTORE_HOOK:-}"; do
    [ -z "$hook" ] || [ -f "$hook" ] || config_error "hook '$hook' does not exist"
  done
  PINNED=${RESTORE_SNAPSHOT:-}
  case "$PINNED" in
    '') ;;
    *[!0-9a-f]* | ? | ?? | ??? | ???? | ????? | ?????? | ???????)
      config_error "RESTORE_SNAPSHOT '$PINNED' is not a snapshot id (8 to 64 hex digits)"
      ;;
  esac
  FORCE_HOLD=${RESTORE_FORCE_HOLD:-false}
  case "$FORCE_HOLD" in
    true | false) ;;
    *) config_error "RESTORE_FORCE_HOLD must be 'true' or 'false', got '$FORCE_HOLD'" ;;
  esac
}

# The full ids of the snapshots in restic's JSON list, one per line.
snapshot_ids() {
  printf '%s' "$1" | { grep -o '"id":"[0-9a-f]*"' || true; } | sed -e 's/"id":"//' -e 's/"$//'
}

# Sets SNAPSHOT to the full id of the pinned snapshot, which must be one of the app's (its host
# and tag): another app's snapshot, or one that is gone, fails rather than restoring something else.
resolve_pinned() {
  local ids matches
  ids=$(snapshot_ids "$1")
  matches=$(grep -c "^$PINNED" <<<"$ids" || true)
  [ "$matches" -eq 1 ] ||
    die "RESTORE_SNAPSHOT $PINNED is not one of $BACKUP_APP's snapshots ($matches match): nothing restored"
  SNAPSHOT=$(grep "^$PINNED" <<<"$ids")
}

# Sets NEWEST to the full id of the app's newest snapshot by time, whatever its paths: the one
# `restic restore latest --host APP --tag APP` picks (`snapshots --latest` would give one per path,
# as a volume mounted elsewhere makes).
read_newest() {
  local json
  json=$(restic snapshots --json --host "$BACKUP_APP" --tag "$BACKUP_APP" latest)
  NEWEST=$(snapshot_ids "$json")
  [[ "$NEWEST" =~ ^[0-9a-f]{64}$ ]] || die "cannot tell $BACKUP_APP's newest snapshot (restic answered '$json')"
}

# Sets FINALS to the full ids of the final backups SERVER took of the app, one per line.
read_finals() {
  local json
  json=$(restic snapshots --json --host "$BACKUP_APP" --tag "$BACKUP_APP,final,server:$1")
  FINALS=$(snapshot_ids "$json")
}

# Decides, before anything is written, whether this server may take the app (README.md, "Which
# server holds an app"); SNAPSHOT is what is restored, "none" for a fresh start. Sets TAKE_REASON
# to the hold to write once the data is in place (first, migrate or forced), empty when this
# server holds the app already as it should, and TAKEN_FROM to the hold record it follows.
check_hold() {
  read_hold
  TAKEN_FROM=$HOLD_NAME
  if [ -n "$PINNED" ]; then
    check_pinned_hold
  elif [ -z "$HOLD_SERVER" ]; then
    TAKE_REASON=first
  elif [ "$HOLD_SERVER" = "$BACKUP_SERVER" ]; then
    TAKE_REASON=''
  else
    refuse_hold "$(describe_hold) holds $BACKUP_APP" "To move it here, use task migrate APP=$BACKUP_APP TO=$BACKUP_SERVER."
  fi
}

# A migration restores the final snapshot of the server that holds the app, and only while nothing
# was written after it; a snapshot the holder took the app from (and wrote nothing since) returns
# it to the server it came from: a rollback, or this restore run again.
check_pinned_hold() {
  read_newest
  if [ "$NEWEST" != "$SNAPSHOT" ]; then
    refuse_hold "snapshot ${SNAPSHOT:0:8} is not $BACKUP_APP's newest: ${NEWEST:0:8} was written after it" \
      "Pin the newest final backup of the server that holds it (task migrate takes one)."
  elif [ -z "$HOLD_SERVER" ]; then
    TAKE_REASON=migrate
  elif [ "$HOLD_SINCE" = "$SNAPSHOT" ]; then
    TAKE_REASON=migrate
    [ "$HOLD_SERVER" != "$BACKUP_SERVER" ] || TAKE_REASON=''
  else
    read_finals "$HOLD_SERVER"
    if grep -qxF "$SNAPSHOT" <<<"$FINALS"; then
      TAKE_REASON=migrate
    else
      refuse_hold "snapshot ${SNAPSHOT:0:8} is not a final backup of $(describe_hold), which holds $BACKUP_APP" \
        "Pin its newest final backup (task migrate takes one)."
    fi
  fi
}

# refuse_hold WHY WHAT-TO-DO: fails, restoring nothing and taking no hold, unless
# RESTORE_FORCE_HOLD=true: then says what taking the app anyway gives up, and takes it.
refuse_hold() {
  local lost="what was written after snapshot ${SNAPSHOT:0:8} is not in this restore"
  [ "$SNAPSHOT" != none ] || lost="$BACKUP_APP starts empty"
  if [ -n "$HOLD_SERVER" ] && [ "$HOLD_SERVER" != "$BACKUP_SERVER" ]; then
    lost="backups of $HOLD_SERVER are refused from now on, and $lost"
  fi
  if [ "$FORCE_HOLD" != true ]; then
    die "$1: nothing was restored, and no hold taken. $2 Only if that is impossible (its copy is lost)," \
      "RESTORE_FORCE_HOLD=true takes $BACKUP_APP anyway: $lost"
  fi
  log "RESTORE_FORCE_HOLD=true: $1. Taking $BACKUP_APP anyway: $lost"
  TAKE_REASON=forced
  # Run again after it took the hold: there is nothing more to write.
  [ "$HOLD_SERVER:$HOLD_SINCE" != "$BACKUP_SERVER:$SNAPSHOT" ] || TAKE_REASON=''
}

# Writes the hold check_hold decided, once the data is in place and before the marker goes: a
# restore that dies earlier starts over and decides again; one that dies later finds, run again,
# that this server holds the app since this snapshot, and writes nothing more.
take_restore_hold() {
  if [ -z "$TAKE_REASON" ]; then
    log "held by $(describe_hold): nothing to take"
    return
  fi
  if [ "$TAKE_REASON" = migrate ]; then
    # The restore may have run for hours: a snapshot the holder wrote meanwhile would be lost here.
    read_newest
    [ "$NEWEST" = "$SNAPSHOT" ] ||
      die "snapshot ${NEWEST:0:8} was written while this restore ran: $BACKUP_APP still runs where it is" \
        "held. No hold was taken and the restore stays unfinished; stop it there, take a final backup and pin that"
  fi
  step "take the hold of $BACKUP_APP ($TAKE_REASON, since ${SNAPSHOT:0:8})" \
    take_hold "$BACKUP_SERVER" "$SNAPSHOT" "$TAKE_REASON" "$TAKEN_FROM"
}

# start_fresh MESSAGE: the app starts empty here, and this server takes it: its first backup writes
# the app's history.
start_fresh() {
  SNAPSHOT=none
  check_hold
  log "$1"
  note_outcome message "restore of $BACKUP_APP on $BACKUP_SERVER: $1"
  take_restore_hold
  mark_restore_done
}

# Sets HOOK_ANSWER to the present-hook's answer, "present" or "absent"; anything else is an error.
ask_present_hook() {
  local answer rc=0
  answer=$(run_hook "$RESTORE_PRESENT_HOOK") || rc=$?
  case "$rc:$answer" in
    0:present | 0:absent) HOOK_ANSWER=$answer ;;
    *) die "present-hook $RESTORE_PRESENT_HOOK failed (exit $rc, answer '$answer')" ;;
  esac
}

# Sets DATA_STATE to "present" or "absent". A present-hook answers for data that does not live in
# BACKUP_DIR (a database); it must print exactly "present" or "absent", anything else is an error.
probe_data() {
  if has_volumes; then
    probe_parts
    return
  fi
  if [ -z "${RESTORE_PRESENT_HOOK:-}" ]; then
    local entries
    # Assigned first: a listing that fails must stop here, never read as "no data".
    entries=$(list_data_entries)
    if [ -n "$entries" ]; then DATA_STATE=present; else DATA_STATE=absent; fi
    return
  fi
  ask_present_hook
  DATA_STATE=$HOOK_ANSWER
}

# With volumes the app's data is in parts: each volume (present when it has entries other than
# lost+found and the marker) and, with a present-hook, the database. All present or all absent
# sets DATA_STATE; some of each is fatal: restoring would overwrite the parts that hold data, and
# skipping would start the app on part of it.
probe_parts() {
  local present=() absent=() name entries
  for name in "${VOLUMES[@]}"; do
    entries=$(volume_data_entries "$name")
    if [ -n "$entries" ]; then present+=("volume $name"); else absent+=("volume $name"); fi
  done
  if [ -n "${RESTORE_PRESENT_HOOK:-}" ]; then
    ask_present_hook
    if [ "$HOOK_ANSWER" = present ]; then present+=("the database"); else absent+=("the database"); fi
  fi
  if [ ${#present[@]} -eq 0 ]; then
    DATA_STATE=absent
  elif [ ${#absent[@]} -eq 0 ]; then
    DATA_STATE=present
  else
    die "only part of the app's data is there: $(join_parts "${present[@]}") $(verb "${#present[@]}") data," \
      "$(join_parts "${absent[@]}") $(verb "${#absent[@]}") none. Nothing was touched: the app must not start" \
      "on part of its data. To restore the latest snapshot, empty what holds data (a volume's files, the" \
      "database's tables) and run the restore again; to keep what is there, put back what is missing by" \
      "hand (for instance from the snapshot, restic restore latest --host $BACKUP_APP), then run the" \
      "restore again: it skips when every part holds data"
  fi
}

# "a", "a and b", "a, b and c"
join_parts() {
  local text=$1
  shift
  while [ $# -gt 1 ]; do
    text+=", $1"
    shift
  done
  [ $# -eq 0 ] || text+=" and $1"
  printf '%s' "$text"
}

verb() {
  if [ "$1" -eq 1 ]; then printf holds; else printf hold; fi
}

# empty_directory DIR: removes everything in DIR but lost+found and the marker. The restore runs as
# the app's user, not root: a directory it restored without write permission (a snapshot's
# read-only directory) is opened for its owner first, or its entries could not be removed.
empty_directory() {
  find "$1" -mindepth 1 -path "$1/lost+found" -prune -o -type d ! -perm -u=rwx -exec chmod u+rwx {} +
  find "$1" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$RESTORE_MARKER" -exec rm -rf {} +
}

# What a previous restore wrote while its marker existed: everything in the directory (in every
# volume and BACKUP_DIR's own entries beside them) except lost+found and the markers.
clear_partial_restore() {
  local name
  if ! has_volumes; then
    empty_directory "$BACKUP_DIR"
    return
  fi
  for name in "${VOLUMES[@]}"; do
    empty_directory "$BACKUP_DIR/$name"
  done
  scratch_entries -exec rm -rf {} +
}

# The target must hold nothing a restore would mix with: BACKUP_DIR itself, or with volumes its own
# entries beside the (empty) volumes: it is a scratch directory.
require_empty_target() {
  if ! has_volumes; then
    local entries
    entries=$(list_data_entries)
    [ -z "$entries" ] || die "$BACKUP_DIR is not empty; refusing to restore over its content"
    return
  fi
  local others
  others=$(scratch_entries)
  [ -z "$others" ] || die "$BACKUP_DIR holds entries beside the volumes (${others//$'\n'/, }); it must be a" \
    "scratch directory holding only the volumes' mount points: refusing to restore"
}

unfinished_restore() {
  local marker
  for marker in "${MARKERS[@]}"; do
    [ ! -e "$marker" ] || return 0
  done
  return 1
}

# "BACKUP_DIR", or "volume a, b" for the volumes that hold a marker.
unfinished_targets() {
  local name marked=()
  if ! has_volumes; then
    printf '%s' "$BACKUP_DIR"
    return
  fi
  for name in "${VOLUMES[@]}"; do
    [ ! -e "$BACKUP_DIR/$name/$RESTORE_MARKER" ] || marked+=("$name")
  done
  printf 'volume %s' "$(join_parts "${marked[@]}")"
}

mark_restore_in_progress() {
  local marker
  for marker in "${MARKERS[@]}"; do
    touch "$marker" ||
      die "cannot write into $(dirname "$marker") as this job's user (uid $(id -u)): the volume must be" \
        "writable by the user the app's files belong to; nothing was restored"
  done
}

mark_restore_done() {
  rm -f "${MARKERS[@]}"
}

# Sets TARGET to where the snapshot's root is restored: BACKUP_DIR (the volume, or with
# volumes the scratch directory they are mounted in). A snapshot taken before the app had
# BACKUP_VOLUMES holds one volume's content at its root: with one volume it is restored into that
# volume; with several nobody can tell which volume the files belong to.
choose_target() {
  TARGET=$BACKUP_DIR
  has_volumes || return 0
  local listing
  listing=$(restic ls --host "$BACKUP_APP" --tag "$BACKUP_APP" "$SNAPSHOT" /)
  if grep -qxF "/$LAYOUT_FILE" <<<"$listing"; then
    return 0
  fi
  [ ${#VOLUMES[@]} -eq 1 ] ||
    die "the snapshot was taken without BACKUP_VOLUMES (one volume's files at its root): nothing" \
      "tells which of the volumes ${VOLUMES[*]} they belong to. Nothing was touched; restore it by hand" \
      "(restic restore $SNAPSHOT --host $BACKUP_APP --target <the volume's mount point>)"
  TARGET=$BACKUP_DIR/${VOLUMES[0]}
  log "the snapshot was taken without BACKUP_VOLUMES: its files go into volume ${VOLUMES[0]}"
}

restore_snapshot() {
  restic restore "$SNAPSHOT" --host "$BACKUP_APP" --tag "$BACKUP_APP" --target "$TARGET"
}

# A volume the snapshot holds nothing for (added to the app after it was taken) stays empty.
report_empty_volumes() {
  local name
  for name in "${VOLUMES[@]}"; do
    [ -n "$(volume_data_entries "$name")" ] ||
      log "volume $name: the snapshot holds no files for it (a volume added to the app later, or empty when backed up): it stays empty"
  done
}

main() {
  read_config
  local started=$SECONDS
  make_work_dir
  if has_volumes; then
    log "restoring volumes ${VOLUMES[*]} in $BACKUP_DIR${RESTORE_PRESENT_HOOK:+ and the database}"
  fi
  if unfinished_restore; then
    # Everything in the directory was written by that unfinished restore: it starts over. The app
    # never started (it starts only after a restore succeeded), so nothing else wrote there.
    log "a previous restore into $(unfinished_targets) did not finish: it starts over${RESTORE_HOOK:+, and the restore hook replaces what it loaded}"
    step "remove what the unfinished restore wrote" clear_partial_restore
  else
    probe_data
    if [ "$DATA_STATE" = present ]; then
      log "data already present: skipping the restore"
      note_outcome message "restore of $BACKUP_APP on $BACKUP_SERVER: data already present, nothing restored"
      return
    fi
    require_empty_target
  fi

  local repository_state
  repository_state=$(probe_repository cat config)
  if [ "$repository_state" = absent ]; then
    require_never_created
    [ -z "$PINNED" ] || die "RESTORE_SNAPSHOT names snapshot $PINNED, but no repository exists: nothing restored"
    start_fresh "no repository exists yet, and its records show that none was ever created: fresh start, nothing restored"
    return
  fi
  local snapshots
  snapshots=$(restic snapshots --json --host "$BACKUP_APP" --tag "$BACKUP_APP")
  if [ "$(printf '%s' "$snapshots" | tr -d '[:space:]')" = "[]" ]; then
    [ -z "$PINNED" ] || die "RESTORE_SNAPSHOT names snapshot $PINNED, but the repository has none of $BACKUP_APP: nothing restored"
    start_fresh "the repository has no snapshot of $BACKUP_APP: fresh start, nothing restored"
    return
  fi
  log "the repository has $(printf '%s' "$snapshots" | grep -o '"id":' | wc -l) snapshots of $BACKUP_APP"
  if [ -n "$PINNED" ]; then
    resolve_pinned "$snapshots"
  else
    read_newest
    SNAPSHOT=$NEWEST
  fi
  check_hold

  note_outcome snapshot "$SNAPSHOT"
  choose_target
  mark_restore_in_progress
  step "restore snapshot $SNAPSHOT into $TARGET" restore_snapshot
  report_empty_volumes
  if [ -n "${RESTORE_HOOK:-}" ]; then
    step "restore hook $RESTORE_HOOK" run_hook "$RESTORE_HOOK"
  fi
  take_restore_hold
  mark_restore_done
  log "restore finished in $((SECONDS - started))s"
  note_outcome message "restore of $BACKUP_APP on $BACKUP_SERVER done: snapshot ${SNAPSHOT:0:8} restored"
}

# The outcome is reported to the stack's notification target (notify-lib.sh) whatever it is.
notify_job restore "restore done" main "$@"
