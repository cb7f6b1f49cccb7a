#!/usr/bin/env bash
# Backs up BACKUP_DIR of one app with restic (its volume, or its volumes BACKUP_DIR/<name> and what
# the hook dumps beside them): initialises the repository only when there is none, removes stale
# locks, refuses when another server holds the app (takes the hold when nobody does), runs the
# online-backup hook, keeps the retention policy (unless the storage is append-only:
# then the operator's prune does) and checks the repository on the configured days. The
# environment interface is in README.md.
set -euo pipefail

SCRIPT_NAME=backup
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=notify-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/notify-lib.sh"

require_days() {
  case "$2" in
    '*' | none | '') ;;
    *[!1-7,\ ]*) config_error "$1 must be '*', 'none' or ISO weekdays 1-7 (Monday=1), got '$2'" ;;
  esac
}

require_non_negative_integer() {
  case "$2" in
    '' | *[!0-9]*) config_error "$1 must be a non-negative integer, got '$2'" ;;
  esac
}

read_config() {
  require_common_env
  BACKUP_REASON="${BACKUP_REASON:-scheduled}"
  case "$BACKUP_REASON" in
    scheduled | final) ;;
    *) config_error "BACKUP_REASON must be 'scheduled' or 'final', got '$BACKUP_REASON'" ;;
  esac
  KEEP_DAILY="${BACKUP_KEEP_DAILY:-7}"
  KEEP_WEEKLY="${BACKUP_KEEP_WEEKLY:-4}"
  KEEP_MONTHLY="${BACKUP_KEEP_MONTHLY:-6}"
  require_non_negative_integer BACKUP_KEEP_DAILY "$KEEP_DAILY"
  require_non_negative_integer BACKUP_KEEP_WEEKLY "$KEEP_WEEKLY"
  require_non_negative_integer BACKUP_KEEP_MONTHLY "$KEEP_MONTHLY"
  APPEND_ONLY="${BACKUP_APPEND_ONLY:-false}"
  case "$APPEND_ONLY" in
    true | false) ;;
    *) config_error "BACKUP_APPEND_ONLY must be 'true' or 'false', got '$APPEND_ONLY'" ;;
  esac
  CHECK_DAYS="${BACKUP_CHECK_DAYS-7}"
  require_days BACKUP_CHECK_DAYS "$CHECK_DAYS"
  PRUNE_DAYS="${BACKUP_PRUNE_DAYS-7}"
  require_days BACKUP_PRUNE_DAYS "$PRUNE_DAYS"
  CHECK_SUBSET="${BACKUP_CHECK_READ_DATA_SUBSET-5%}"
  FINAL_CHECK_SUBSET="${BACKUP_FINAL_READ_DATA_SUBSET-100%}"
  if [ -n "${BACKUP_HOOK:-}" ] && [ ! -f "$BACKUP_HOOK" ]; then
    config_error "BACKUP_HOOK '$BACKUP_HOOK' does not exist"
  fi
  read_excludes
}

# Sets EXCLUDES to the paths BACKUP_EXCLUDE lists, one per line, relative to BACKUP_DIR (restic's
# pattern syntax allowed; a trailing "/" is dropped; blank lines are ignored).
read_excludes() {
  EXCLUDES=()
  local line path
  while IFS= read -r line; do
    case "$line" in *[![:space:]]*) ;; *) continue ;; esac
    path=$line
    while [ "$path" != "${path%/}" ]; do path=${path%/}; done
    case "$path" in
      '' | /*) config_error "BACKUP_EXCLUDE: '$line' is not a path relative to BACKUP_DIR" ;;
    esac
    case "/$path/" in
      */../* | */./* | *//*) config_error "BACKUP_EXCLUDE: '$line' must not hold '..', '.' or empty components" ;;
    esac
    EXCLUDES+=("$path")
  done <<<"${BACKUP_EXCLUDE:-}"
}

# Refuses while a restore marker exists: a restore did not finish, and a snapshot of partial data
# would become the latest.
refuse_unfinished_restore() {
  local marker
  for marker in "${MARKERS[@]}"; do
    if [ -e "$marker" ]; then
      die "a restore into $(dirname "$marker") did not finish; refusing to back up partial data (run the restore again)"
    fi
  done
}

# Sets SKIPPED to what the snapshot leaves out, as absolute paths: lost+found and the restore
# marker (each volume's too) and the paths of BACKUP_EXCLUDE (restic's patterns).
read_skipped() {
  SKIPPED=("$BACKUP_DIR/lost+found" "$BACKUP_DIR/$RESTORE_MARKER")
  local name path
  for name in "${VOLUMES[@]}"; do
    SKIPPED+=("$BACKUP_DIR/$name/lost+found" "$BACKUP_DIR/$name/$RESTORE_MARKER")
  done
  for path in "${EXCLUDES[@]}"; do
    SKIPPED+=("$BACKUP_DIR/$path")
  done
}

# Prints what this job's user cannot read of what the snapshot would hold: regular files it may
# not read, and directories it may not list or enter (their content unseen). Left-out paths are
# pruned as find's patterns, whose "*" also matches "/": that prunes at least what restic leaves
# out, so nothing restic skips is reported.
unreadable_entries() {
  local prune=() path
  for path in "${SKIPPED[@]}"; do
    prune+=(-path "$path" -o)
  done
  find "$BACKUP_DIR" \( "${prune[@]}" -false \) -prune -o \
    -type d \( ! -readable -o ! -executable \) -print -prune -o \
    -type f ! -readable -print
}

# restic skips what it cannot read and still saves the snapshot (exit 3): it would become the
# newest, and a restore would bring the app back without those files. So nothing is backed up
# unless this job's user (the app's) can read everything.
require_readable() {
  local unreadable count
  unreadable=$(unreadable_entries)
  [ -n "$unreadable" ] || return 0
  count=$(printf '%s\n' "$unreadable" | wc -l)
  printf '%s\n' "$unreadable" | head -n 20 | sed 's/^/  cannot read: /' >&2
  die "$count entries in $BACKUP_DIR cannot be read by this job's user (uid $(id -u), groups $(id -G | tr ' ' ','))," \
    "listed above (at most 20): nothing was backed up. Give them to the app's user (the jobs run as the user" \
    "the app's files belong to), or leave them out with BACKUP_EXCLUDE"
}

# Refuses, before anything is written, when another server holds the app: two servers must never
# both write its history (README.md, "Which server holds an app").
require_hold() {
  read_hold
  [ -n "$HOLD_SERVER" ] && [ "$HOLD_SERVER" != "$BACKUP_SERVER" ] || return 0
  die "this server ($BACKUP_SERVER) no longer holds $BACKUP_APP: it moved to $(describe_hold);" \
    "nothing was written. $BACKUP_APP runs on $HOLD_SERVER now: remove it from this server, or move it" \
    "back with task migrate APP=$BACKUP_APP TO=$BACKUP_SERVER"
}

take_snapshot() {
  local tags=("--tag" "$BACKUP_APP" "--tag" "server:$BACKUP_SERVER") name path
  [ "$BACKUP_REASON" = final ] && tags+=("--tag" "final")
  if has_volumes; then
    for name in "${VOLUMES[@]}"; do
      [ -n "$(volume_data_entries "$name")" ] || log "warning: volume $name ($BACKUP_DIR/$name) is empty"
    done
  else
    [ -n "$(list_data_entries)" ] || log "warning: $BACKUP_DIR is empty; backing up an empty snapshot"
  fi
  for path in "${EXCLUDES[@]}"; do
    log "excluding $path"
  done
  local excludes=()
  for path in "${SKIPPED[@]}"; do
    excludes+=(--exclude "$path")
  done
  if has_volumes; then
    printf '%s\n' "${VOLUMES[@]}" >"$BACKUP_DIR/$LAYOUT_FILE"
  fi
  # Backing up "." from inside the directory stores its entries at the snapshot's root, so a
  # restore does not depend on where the volume was mounted: each volume is the directory of its
  # name there, beside what the hook wrote.
  cd "$BACKUP_DIR"
  restic backup --host "$BACKUP_APP" "${tags[@]}" "${excludes[@]}" . | tee "$WORK_DIR/backup.out"
  note_snapshot "$WORK_DIR/backup.out"
}

# note_snapshot OUTPUT: notes, for the notification, the snapshot restic saved (its full id when
# restic can tell it) and what it added to the repository, in bytes (restic's rounded figure), from
# restic backup's OUTPUT. Whatever cannot be read is left out; it never fails the backup.
note_snapshot() {
  local short full added
  short=$(sed -n 's/^snapshot \([0-9a-f]\{8,64\}\) saved.*/\1/p' "$1" | tail -n 1)
  [ -n "$short" ] || return 0
  full=$(restic snapshots --json --host "$BACKUP_APP" "$short" 2>/dev/null |
    grep -o '"id":"[0-9a-f]\{64\}"' | head -n 1 | sed -e 's/"id":"//' -e 's/"$//') || full=""
  note_outcome snapshot "${full:-$short}"
  # "Added to the repository: 1.234 MiB (610 KiB stored)", or "Added to the repo: 1.234 MiB" (older).
  added=$(awk '/^Added to the repo(sitory)?:/ {
      value = $5; unit = $6; factor = 1
      if (unit == "KiB") factor = 1024; else if (unit == "MiB") factor = 1024 ^ 2
      else if (unit == "GiB") factor = 1024 ^ 3; else if (unit == "TiB") factor = 1024 ^ 4
      printf "%.0f\n", value * factor
    }' "$1" | tail -n 1)
  [ -z "$added" ] || note_outcome bytesAdded "$added"
}

# is_due DAYS: whether today (UTC) is one of DAYS ('*', 'none', empty or ISO weekdays).
is_due() {
  local today
  today=$(date -u +%u)
  case "$1" in
    '*') return 0 ;;
    none | '') return 1 ;;
  esac
  case ",${1// /,}," in
    *",$today,"*) return 0 ;;
  esac
  return 1
}

check_repository() {
  local subset=$1 args=(check)
  [ -n "$subset" ] && args+=(--read-data-subset "$subset")
  restic "${args[@]}"
}

main() {
  read_config
  local started=$SECONDS
  if has_volumes; then
    log "backing up volumes ${VOLUMES[*]} in $BACKUP_DIR (reason: $BACKUP_REASON)"
  else
    log "backing up $BACKUP_DIR (reason: $BACKUP_REASON)"
  fi
  refuse_unfinished_restore
  read_skipped
  step "check that this job's user can read every file" require_readable
  make_work_dir
  local repository_state
  # Opening the repository with `unlock` removes only the locks restic considers stale (made on
  # this host by a dead process, or not refreshed for 30 minutes: a job that died on another pod);
  # live locks stay. Each restic command costs a start of rclone and a read of the keys.
  log "start: open the repository and remove stale locks"
  repository_state=$(probe_repository unlock)
  log "done: open the repository and remove stale locks (repository $repository_state)"
  [ "$repository_state" = present ] || require_never_created
  require_hold
  if [ "$repository_state" = absent ]; then
    step "initialise the repository (none exists yet)" restic init
  fi
  step "record that the repository exists ($CREATION_RECORD)" record_creation
  if [ -z "$HOLD_SERVER" ]; then
    step "take the hold of $BACKUP_APP (nobody held it)" take_hold "$BACKUP_SERVER" none first ""
  else
    log "held by $(describe_hold)"
  fi
  if [ -n "${BACKUP_HOOK:-}" ]; then
    step "backup hook $BACKUP_HOOK" run_hook "$BACKUP_HOOK"
  fi
  step "snapshot of $BACKUP_DIR" take_snapshot
  if [ "$BACKUP_REASON" = final ]; then
    # A final backup must be verified before the app's data is removed; it never forgets anything.
    step "verify the repository (read data: ${FINAL_CHECK_SUBSET:-none})" check_repository "$FINAL_CHECK_SUBSET"
  else
    if [ "$APPEND_ONLY" = true ]; then
      # The storage refuses (or keeps) deletions: forgetting here could not free anything, and
      # the credentials that could are the operator's.
      log "retention: the storage is append-only (BACKUP_APPEND_ONLY=true); the operator's task backup:prune forgets and prunes"
    elif is_due "$PRUNE_DAYS"; then
      step "retention (daily $KEEP_DAILY, weekly $KEEP_WEEKLY, monthly $KEEP_MONTHLY) and prune" apply_retention --prune
    else
      # Retention only ever removes history: it waits for the prune days, and a day's backup
      # costs little more than its new data. Snapshots are kept up to a week longer, no shorter.
      log "retention and prune not due today (BACKUP_PRUNE_DAYS='$PRUNE_DAYS')"
    fi
    if is_due "$CHECK_DAYS"; then
      step "check the repository (read data: ${CHECK_SUBSET:-none})" check_repository "$CHECK_SUBSET"
    else
      log "repository check not due today (BACKUP_CHECK_DAYS='$CHECK_DAYS')"
    fi
  fi
  log "backup finished in $((SECONDS - started))s"
  local snapshot
  snapshot=$(notify_noted snapshot)
  note_outcome message "$BACKUP_REASON backup of $BACKUP_APP on $BACKUP_SERVER done${snapshot:+: snapshot ${snapshot:0:8}}"
}

# The outcome is reported to the stack's notification target (notify-lib.sh) whatever it is.
if [ "${BACKUP_REASON:-scheduled}" = final ]; then
  notify_job final-backup "final backup done" main "$@"
else
  notify_job backup "backup done" main "$@"
fi
