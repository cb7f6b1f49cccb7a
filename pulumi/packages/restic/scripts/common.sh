# shellcheck shell=bash
# Shared by backup.sh, restore.sh and prune.sh (sourced, never run). The interface is in README.md.

# Written by restore.sh before it touches BACKUP_DIR and removed once the restore and its hook
# succeeded: while it exists the directory holds partial data.
# shellcheck disable=SC2034 # used by the scripts that source this file
RESTORE_MARKER=.restore-in-progress
# Written by backup.sh at the root of a snapshot taken with BACKUP_VOLUMES (the volumes' names, one
# per line): the restore tells such a snapshot from one whose root is a volume's content.
# shellcheck disable=SC2034 # used by the scripts that source this file
LAYOUT_FILE=.backup-volumes

log() {
  printf '%s %s[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "${BACKUP_APP:-?}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

config_error() {
  log "CONFIGURATION ERROR: $*"
  exit 2
}

# step DESCRIPTION COMMAND [ARG...]: runs the command with its start, end and duration in the log.
# The command runs in a subshell with errexit on, so a shell function given here stops at its
# first failing command (errexit is ignored in functions called from a condition).
step() {
  local what=$1 started=$SECONDS rc=0
  shift
  log "start: $what"
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    log "FAILED: $what (exit $rc after $((SECONDS - started))s)"
    return "$rc"
  fi
  log "done: $what ($((SECONDS - started))s)"
}

require_common_env() {
  [ -n "${BACKUP_APP:-}" ] || config_error "BACKUP_APP is not set"
  # The app name becomes restic's --host and a tag: a tag list is comma-separated.
  case "$BACKUP_APP" in
    *[!a-zA-Z0-9._-]* | [._-]*) config_error "BACKUP_APP '$BACKUP_APP' must be letters, digits, '.', '_' or '-'" ;;
  esac
  [ -n "${BACKUP_DIR:-}" ] || config_error "BACKUP_DIR is not set"
  [ -d "$BACKUP_DIR" ] || config_error "BACKUP_DIR '$BACKUP_DIR' is not a directory"
  [ -n "${RESTIC_REPOSITORY:-}" ] || config_error "RESTIC_REPOSITORY is not set"
  if [ -n "${RESTIC_PASSWORD_FILE:-}" ]; then
    [ -r "$RESTIC_PASSWORD_FILE" ] || config_error "RESTIC_PASSWORD_FILE '$RESTIC_PASSWORD_FILE' is not readable"
  elif [ -z "${RESTIC_PASSWORD:-}" ]; then
    config_error "neither RESTIC_PASSWORD_FILE nor RESTIC_PASSWORD is set"
  fi
  read_volumes
  command -v restic >/dev/null || config_error "restic is not installed"
  # Without a terminal restic prints no progress at all unless asked: once a minute by default.
  export RESTIC_PROGRESS_FPS="${RESTIC_PROGRESS_FPS:-0.016666}"
}

make_work_dir() {
  WORK_DIR=$(mktemp -d)
  trap 'rm -rf "$WORK_DIR"' EXIT
}

# Prints "present" or "absent". Any other outcome (unreachable storage, wrong
# password, broken rclone config) is fatal: nothing may be initialised over, or restored from, an
# error. restic >= 0.17 says "absent" with exit code 10; 0.14 only with exit code 1 and this text.
probe_repository() {
  local rc=0
  restic cat config >/dev/null 2>"$WORK_DIR/probe.err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo present
  elif [ "$rc" -eq 10 ] || { [ "$rc" -eq 1 ] && grep -q "Is there a repository at the following location?" "$WORK_DIR/probe.err"; }; then
    echo absent
  else
    cat "$WORK_DIR/probe.err" >&2
    die "cannot open the repository (restic exit $rc): unreachable storage, wrong password or bad configuration"
  fi
}

# Runs a hook: directly when it is executable, else with bash (ConfigMap files often lack +x).
run_hook() {
  local hook=$1
  shift
  [ -f "$hook" ] || die "hook '$hook' does not exist"
  if [ -x "$hook" ]; then
    "$hook" "$@"
  else
    bash "$hook" "$@"
  fi
}

# Lists BACKUP_DIR's entries other than lost+found (created by mkfs on fresh volumes).
list_data_entries() {
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 ! -name lost+found
}

# Sets VOLUMES to the names BACKUP_VOLUMES lists (space-separated; each BACKUP_DIR/<name> is the
# mount point of one of the app's volumes, and BACKUP_DIR itself a scratch directory). Empty
# without BACKUP_VOLUMES: BACKUP_DIR is then the app's one volume, or a scratch directory for a dump.
read_volumes() {
  VOLUMES=()
  local list=${BACKUP_VOLUMES:-} names=() name
  list=${list//[$'\t\n']/ }
  read -r -a names <<<"$list"
  for name in "${names[@]}"; do
    case "$name" in
      *[!a-z0-9-]*) config_error "BACKUP_VOLUMES: '$name' is not a volume name (lower-case letters, digits and '-')" ;;
    esac
    case " ${VOLUMES[*]} " in
      *" $name "*) config_error "BACKUP_VOLUMES names volume '$name' twice" ;;
    esac
    [ -d "$BACKUP_DIR/$name" ] || config_error "BACKUP_VOLUMES: $BACKUP_DIR/$name (the mount point of volume $name) is not a directory"
    VOLUMES+=("$name")
  done
  # The restore markers: one in every volume (BACKUP_DIR is then scratch, lost with the pod), or
  # BACKUP_DIR's own.
  MARKERS=()
  for name in "${VOLUMES[@]}"; do
    MARKERS+=("$BACKUP_DIR/$name/$RESTORE_MARKER")
  done
  has_volumes || MARKERS=("$BACKUP_DIR/$RESTORE_MARKER")
}

has_volumes() {
  [ ${#VOLUMES[@]} -gt 0 ]
}

# Lists a volume's entries other than lost+found and the restore marker: its data.
volume_data_entries() {
  find "$BACKUP_DIR/$1" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$RESTORE_MARKER"
}

# scratch_entries [FIND-ACTION...]: BACKUP_DIR's own entries other than the volumes' mount points
# and lost+found (what a hook wrote beside the volumes), printed or given to the action.
scratch_entries() {
  local others=() name
  for name in "${VOLUMES[@]}"; do
    others+=(! -name "$name")
  done
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 ! -name lost+found "${others[@]}" "$@"
}

# apply_retention [RESTIC-ARG...]: forgets the app's snapshots beyond KEEP_DAILY, KEEP_WEEKLY and
# KEEP_MONTHLY (all 0 keeps everything), with the given arguments (--prune, --dry-run). Only this
# app's snapshots, as one group whatever the paths: the host is the app.
apply_retention() {
  local keep=()
  [ "$KEEP_DAILY" -gt 0 ] && keep+=(--keep-daily "$KEEP_DAILY")
  [ "$KEEP_WEEKLY" -gt 0 ] && keep+=(--keep-weekly "$KEEP_WEEKLY")
  [ "$KEEP_MONTHLY" -gt 0 ] && keep+=(--keep-monthly "$KEEP_MONTHLY")
  if [ ${#keep[@]} -eq 0 ]; then
    log "retention: every BACKUP_KEEP_* is 0, keeping all snapshots"
    return
  fi
  restic forget --host "$BACKUP_APP" --tag "$BACKUP_APP" --group-by host "${keep[@]}" "$@"
}
