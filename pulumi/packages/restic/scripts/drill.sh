#!/usr/bin/env bash
# Restore drill of one app: restores its latest snapshot (or exactly DRILL_SNAPSHOT) into
# BACKUP_DIR, a scratch directory (never the app's volumes), and checks it:
#   - the restore itself, with --verify (every restored file read back against the snapshot): a
#     missing or damaged pack fails here;
#   - the restored tree against the snapshot's own file count and size (restic stats);
#   - with a database (DRILL_SERVER_START): the dump loaded into a throwaway server of its engine,
#     started inside the drill's pod on a scratch data directory, and queried (the present hook
#     must find the data there).
# It waits while the repository holds a lock (a backup of the app runs: drills never compete with
# it) and fails naming the step that failed. It writes nothing into the repository but restic's
# own non-exclusive lock, and takes no hold. The environment interface is in README.md.
set -euo pipefail

SCRIPT_NAME=drill
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=notify-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/notify-lib.sh"

require_seconds() {
  case "$2" in
    '' | *[!0-9]*) config_error "$1 must be a number of seconds, got '$2'" ;;
  esac
}

read_config() {
  # The drill restores the whole snapshot into its scratch BACKUP_DIR, where no volume is mounted:
  # the volumes' names only say what the snapshot should hold.
  DRILL_VOLUMES=${BACKUP_VOLUMES:-}
  unset BACKUP_VOLUMES
  require_common_env
  PINNED=${DRILL_SNAPSHOT:-}
  case "$PINNED" in
    '') ;;
    *[!0-9a-f]* | ? | ?? | ??? | ???? | ????? | ?????? | ???????)
      config_error "DRILL_SNAPSHOT '$PINNED' is not a snapshot id (8 to 64 hex digits)"
      ;;
  esac
  LOCK_WAIT=${DRILL_LOCK_WAIT_SECONDS:-3600}
  LOCK_POLL=${DRILL_LOCK_POLL_SECONDS:-60}
  require_seconds DRILL_LOCK_WAIT_SECONDS "$LOCK_WAIT"
  require_seconds DRILL_LOCK_POLL_SECONDS "$LOCK_POLL"
  local hook
  for hook in "${DRILL_SERVER_START:-}" "${DRILL_SERVER_STOP:-}" "${DRILL_PREPARE_HOOK:-}" \
    "${RESTORE_HOOK:-}" "${RESTORE_PRESENT_HOOK:-}"; do
    [ -z "$hook" ] || [ -f "$hook" ] || config_error "hook '$hook' does not exist"
  done
  if [ -n "${DRILL_SERVER_START:-}" ]; then
    [ -n "${DRILL_SERVER_STOP:-}" ] || config_error "DRILL_SERVER_START is set without DRILL_SERVER_STOP"
    [ -n "${RESTORE_HOOK:-}" ] || config_error "DRILL_SERVER_START is set without RESTORE_HOOK (what loads the dump)"
    [ -n "${RESTORE_PRESENT_HOOK:-}" ] || config_error "DRILL_SERVER_START is set without RESTORE_PRESENT_HOOK (what queries it)"
    [ -n "${DRILL_DATABASE_PASSWORD_FILE:-}" ] || config_error "DRILL_SERVER_START is set without DRILL_DATABASE_PASSWORD_FILE"
  fi
  [ -z "$(list_data_entries)" ] || config_error "BACKUP_DIR '$BACKUP_DIR' is not empty: the drill restores into an empty scratch directory only"
}

# The lock files of the repository (the app's own: every app has its repository), one per line.
repository_locks() {
  restic list locks --no-lock
}

# Waits until the repository holds no lock: a backup, final backup, restore or prune of the app
# runs. Fails after LOCK_WAIT seconds (a lock that stays is a stale one of a job that died: the
# next backup removes it, or `restic unlock`).
wait_for_no_locks() {
  local locks waited=0
  while :; do
    locks=$(repository_locks)
    [ -n "$locks" ] || return 0
    [ "$waited" -lt "$LOCK_WAIT" ] ||
      die "the repository is still locked after ${LOCK_WAIT}s ($(wc -l <<<"$locks") locks: a backup of $BACKUP_APP" \
        "still runs, or a job died and left a stale lock, which its next backup removes): no drill"
    log "the repository is locked ($(wc -l <<<"$locks") locks: a job of $BACKUP_APP runs); waiting ${LOCK_POLL}s"
    sleep "$LOCK_POLL"
    waited=$((waited + LOCK_POLL))
  done
}

snapshot_ids() {
  printf '%s' "$1" | { grep -o '"id":"[0-9a-f]*"' || true; } | sed -e 's/"id":"//' -e 's/"$//'
}

# Sets SNAPSHOT to the full id of the drilled snapshot: the app's newest, or the pinned one, which
# must be one of the app's.
choose_snapshot() {
  local json ids matches
  if [ -n "$PINNED" ]; then
    json=$(restic snapshots --json --host "$BACKUP_APP" --tag "$BACKUP_APP")
    ids=$(snapshot_ids "$json")
    matches=$(grep -c "^$PINNED" <<<"$ids" || true)
    [ "$matches" -eq 1 ] || die "DRILL_SNAPSHOT $PINNED is not one of $BACKUP_APP's snapshots ($matches match)"
    SNAPSHOT=$(grep "^$PINNED" <<<"$ids")
  else
    json=$(restic snapshots --json --host "$BACKUP_APP" --tag "$BACKUP_APP" latest)
    SNAPSHOT=$(snapshot_ids "$json")
    [ -n "$SNAPSHOT" ] || die "the repository holds no snapshot of $BACKUP_APP: nothing to drill (has it ever been backed up?)"
    [[ "$SNAPSHOT" =~ ^[0-9a-f]{64}$ ]] || die "cannot tell $BACKUP_APP's newest snapshot (restic answered '$json')"
  fi
}

# Prints "<entries> <bytes>": what the snapshot says it restores, every entry (files,
# directories, links) and the size of its files (a hard-linked file once).
read_expected() {
  local json files bytes
  json=$(restic stats --mode restore-size --json "$SNAPSHOT")
  files=$(grep -o '"total_file_count":[0-9]*' <<<"$json" | grep -o '[0-9]*$' || true)
  bytes=$(grep -o '"total_size":[0-9]*' <<<"$json" | grep -o '[0-9]*$' || true)
  if [ -z "$files" ] || [ -z "$bytes" ]; then
    die "restic stats answered '$json': no file count and size"
  fi
  log "snapshot ${SNAPSHOT:0:8} holds $files entries, $bytes bytes of files"
  printf '%s %s\n' "$files" "$bytes"
}

restore_snapshot() {
  restic restore "$SNAPSHOT" --host "$BACKUP_APP" --tag "$BACKUP_APP" --target "$BACKUP_DIR" --verify
}

# The restored tree against the snapshot's own count and size.
compare_restored() {
  local files bytes
  files=$(find "$BACKUP_DIR" -mindepth 1 | wc -l)
  bytes=$(find "$BACKUP_DIR" -type f -printf '%i %s\n' | sort -u | awk '{ sum += $2 } END { printf "%d", sum }')
  if [ "$files" -ne "$EXPECTED_FILES" ] || [ "$bytes" -ne "$EXPECTED_BYTES" ]; then
    die "restored $files entries, $bytes bytes; the snapshot holds $EXPECTED_FILES entries, $EXPECTED_BYTES bytes"
  fi
  log "restored $files entries, $bytes bytes: as the snapshot says"
  local name
  for name in $DRILL_VOLUMES; do
    [ -d "$BACKUP_DIR/$name" ] || log "warning: the snapshot holds no directory for volume $name"
  done
}

# The throwaway server's admin password: new for every drill, known to nobody else.
write_database_password() {
  mkdir -p "$(dirname "$DRILL_DATABASE_PASSWORD_FILE")"
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DRILL_DATABASE_PASSWORD_FILE")
}

stop_database_server() {
  [ "${SERVER_STARTED:-false}" = true ] || return 0
  SERVER_STARTED=false
  step "stop the throwaway database server" run_hook "$DRILL_SERVER_STOP" || true
}

# What the prepare hook needs to create the app's database on the throwaway server as its admin
# (the engine's create-database script): the admin's password, and a new one for the app's account.
prepare_database() {
  DB_ADMIN_PASSWORD=$(cat "$DRILL_DATABASE_PASSWORD_FILE")
  APP_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export DB_ADMIN_PASSWORD APP_PASSWORD
  run_hook "$DRILL_PREPARE_HOOK"
}

# The present hook queries the loaded databases (their relations or tables): they must hold data.
query_database() {
  local answer
  answer=$(run_hook "$RESTORE_PRESENT_HOOK")
  [ "$answer" = present ] || die "the loaded dump holds no data: the present hook answered '$answer'"
}

drill_database() {
  step "write the throwaway database server's password" write_database_password
  trap 'stop_database_server; rm -rf "$WORK_DIR"' EXIT
  SERVER_STARTED=true
  step "start a throwaway database server" run_hook "$DRILL_SERVER_START"
  if [ -n "${DRILL_PREPARE_HOOK:-}" ]; then
    step "create the app's database on the throwaway server" prepare_database
  fi
  step "load the dump into the throwaway server" run_hook "$RESTORE_HOOK"
  step "query the loaded database" query_database
  stop_database_server
}

main() {
  read_config
  local started=$SECONDS
  make_work_dir
  log "drill of $BACKUP_APP: restoring into the scratch directory $BACKUP_DIR"
  step "wait until no job of $BACKUP_APP holds the repository's lock" wait_for_no_locks
  choose_snapshot
  note_outcome snapshot "$SNAPSHOT"
  local expected
  expected=$(step "read snapshot ${SNAPSHOT:0:8}'s file count and size" read_expected)
  read -r EXPECTED_FILES EXPECTED_BYTES <<<"$expected"
  step "restore snapshot ${SNAPSHOT:0:8} into $BACKUP_DIR (and verify it)" restore_snapshot
  step "compare the restored files with the snapshot" compare_restored
  if [ -n "${DRILL_SERVER_START:-}" ]; then
    drill_database
  fi
  log "drill passed in $((SECONDS - started))s"
  note_outcome message "drill of $BACKUP_APP on $BACKUP_SERVER passed: snapshot ${SNAPSHOT:0:8}, $EXPECTED_FILES entries, $EXPECTED_BYTES bytes${DRILL_SERVER_START:+, its database loaded and queried}"
}

# The outcome is reported to the stack's notification target (notify-lib.sh) whatever it is.
notify_job drill "drill passed" main "$@"
