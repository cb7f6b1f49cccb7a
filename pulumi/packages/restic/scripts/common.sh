# shellcheck shell=bash
# Shared by backup.sh, restore.sh, prune.sh, init-repository.sh and hold.sh (sourced, never run).
# backup.sh and restore.sh source notify-lib.sh too: their outcome is reported.
# The interface is in README.md.

# Written by restore.sh before it touches BACKUP_DIR and removed once the restore and its hook
# succeeded: while it exists the directory holds partial data.
# shellcheck disable=SC2034 # used by the scripts that source this file
RESTORE_MARKER=.restore-in-progress
# Written by backup.sh at the root of a snapshot taken with BACKUP_VOLUMES (the volumes' names, one
# per line): the restore tells such a snapshot from one whose root is a volume's content.
# shellcheck disable=SC2034 # used by the scripts that source this file
LAYOUT_FILE=.backup-volumes

# The repository's own records (README.md, "A repository that is gone"), beside restic's files in
# its directory: the operator's marker, written once before the app's first deployment (`task
# backup:init-repository`), says that the place is the repository's and readable; the creation
# record, written once by the backup that created the repository, says that it existed. Together
# they tell "never had a repository" from "its repository is gone".
# shellcheck disable=SC2034 # used by the scripts that source this file
REPOSITORY_MARKER=.homelab-repository
# shellcheck disable=SC2034 # used by the scripts that source this file
REPOSITORY_MARKER_TEXT="homelab backup repository"
CREATION_RECORD=.homelab-created
# Which server holds the app (README.md, "Which server holds an app"): one write-once record per
# change of holder, named <10-digit sequence>-<server> so that the newest sorts last. Storage may be
# append-only, so a hold is never changed, only followed by a newer one.
HOLDS_DIR=.homelab-holds

log() {
  printf '%s %s[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "${BACKUP_APP:-?}" "$*" >&2
}

die() {
  log "ERROR: $*"
  note_outcome error "$*"
  exit 1
}

config_error() {
  log "CONFIGURATION ERROR: $*"
  note_outcome step configuration
  note_outcome error "$*"
  exit 2
}

# note_outcome KEY VALUE: what the job's notification reports (notify-lib.sh), when the script
# sourced it; nothing otherwise (the operator's tools).
note_outcome() {
  ! declare -F notify_note >/dev/null || notify_note "$@"
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
    note_outcome step "$what"
    return "$rc"
  fi
  log "done: $what ($((SECONDS - started))s)"
}

# require_identity SETTING VALUE: an app's or repository's name, which becomes restic's --host, a
# tag (a tag list is comma-separated) and a path component.
require_identity() {
  case "$2" in
    *[!a-zA-Z0-9._-]* | [._-]*) config_error "$1 '$2' must be letters, digits, '.', '_' or '-'" ;;
  esac
}

require_common_env() {
  [ -n "${BACKUP_APP:-}" ] || config_error "BACKUP_APP is not set"
  require_identity BACKUP_APP "$BACKUP_APP"
  [ -n "${BACKUP_SERVER:-}" ] || config_error "BACKUP_SERVER is not set"
  require_identity BACKUP_SERVER "$BACKUP_SERVER"
  [ -n "${BACKUP_DIR:-}" ] || config_error "BACKUP_DIR is not set"
  [ -d "$BACKUP_DIR" ] || config_error "BACKUP_DIR '$BACKUP_DIR' is not a directory"
  [ -n "${RESTIC_REPOSITORY:-}" ] || config_error "RESTIC_REPOSITORY is not set"
  if [ -n "${RESTIC_PASSWORD_FILE:-}" ]; then
    [ -r "$RESTIC_PASSWORD_FILE" ] || config_error "RESTIC_PASSWORD_FILE '$RESTIC_PASSWORD_FILE' is not readable"
  elif [ -z "${RESTIC_PASSWORD:-}" ]; then
    config_error "neither RESTIC_PASSWORD_FILE nor RESTIC_PASSWORD is set"
  fi
  read_volumes
  read_records_path
  command -v restic >/dev/null || config_error "restic is not installed"
  # Without a terminal restic prints no progress at all unless asked: once a minute by default.
  export RESTIC_PROGRESS_FPS="${RESTIC_PROGRESS_FPS:-0.016666}"
}

make_work_dir() {
  WORK_DIR=$(mktemp -d)
  trap 'rm -rf "$WORK_DIR"' EXIT
}

# probe_repository RESTIC-COMMAND...: opens the repository with the command (`cat config`, or any
# other that opens it: they answer alike) and prints "present" or "absent". Any other
# outcome (unreachable storage, wrong password, broken rclone config) is fatal: nothing may be
# initialised over, or restored from, an error. restic >= 0.17 says "absent" with exit code 10;
# 0.14 only with exit code 1 and this text.
probe_repository() {
  local rc=0
  restic "$@" >/dev/null 2>"$WORK_DIR/probe.err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo present
  elif [ "$rc" -eq 10 ] || { [ "$rc" -eq 1 ] && grep -q "Is there a repository at the following location?" "$WORK_DIR/probe.err"; }; then
    echo absent
  else
    cat "$WORK_DIR/probe.err" >&2
    die "cannot open the repository (restic exit $rc): unreachable storage, wrong password or bad configuration"
  fi
}

# Sets RECORDS, the rclone path of the repository's directory, where its records are: that of an
# `rclone:` repository, else BACKUP_RECORDS.
read_records_path() {
  case "$RESTIC_REPOSITORY" in
    rclone:*) RECORDS=${BACKUP_RECORDS:-${RESTIC_REPOSITORY#rclone:}} ;;
    *)
      [ -n "${BACKUP_RECORDS:-}" ] ||
        config_error "BACKUP_RECORDS is not set: RESTIC_REPOSITORY is not an rclone: one, so the rclone path of its directory must be given"
      RECORDS=$BACKUP_RECORDS
      ;;
  esac
  command -v rclone >/dev/null || config_error "rclone is not installed"
}

# read_record FILE [UNKNOWN]: prints the record's content, empty when it does not exist (rclone
# exits 3, or prints nothing on bucket stores, which have no directories); any other failure is
# fatal, saying what cannot be told then (UNKNOWN).
read_record() {
  local rc=0 content
  content=$(rclone cat "$RECORDS/$1" 2>"$WORK_DIR/record.err") || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    cat "$WORK_DIR/record.err" >&2
    die "cannot read $RECORDS/$1 (rclone exit $rc): ${2:-whether the repository ever existed cannot be told}"
  fi
  printf '%s' "$content"
}

# Called when restic finds no repository: returns when none was ever created here, so that the app
# may start empty (and its first backup create one). Dies when the marker is missing, since a
# deleted bucket or path, a typo in backup:remote or another account's key look just like "no
# repository" to restic; and when the creation record shows the repository existed.
require_never_created() {
  local marker created
  marker=$(read_record "$REPOSITORY_MARKER")
  if [ "$marker" != "$REPOSITORY_MARKER_TEXT" ]; then
    die "restic finds no repository at $RECORDS, and neither does its marker ($REPOSITORY_MARKER) show:" \
      "the bucket or path is missing (deleted, a typo in backup:remote), this key sees another account's," \
      "or the place was never initialised. Nothing was created or restored: whether $BACKUP_APP ever had" \
      "a repository cannot be told. Fix the location; for a new repository, initialise its place once" \
      "from your machine: task backup:init-repository NAME=${RECORDS##*/} STACK=<stack>"
  fi
  created=$(read_record "$CREATION_RECORD")
  if [ -n "$created" ]; then
    die "the repository at $RECORDS was created (${created%$'\n'}) and is not there now: refusing to start" \
      "$BACKUP_APP empty, or a new history beside the lost one. Nothing was touched. Find it (a moved" \
      "bucket, a changed backup:remote); only if its data is truly gone and $BACKUP_APP may start empty," \
      "remove $RECORDS/$CREATION_RECORD and run this again"
  fi
}

# Records, once, that the repository exists (the backup that created it, or the first after the
# records were introduced). Written once: append-only storage refuses to overwrite.
record_creation() {
  local created
  # Assigned first: a failed read must stop here, not pass for "no record".
  created=$(read_record "$CREATION_RECORD")
  [ -z "$created" ] || return 0
  printf 'created %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | rclone rcat "$RECORDS/$CREATION_RECORD"
}

# Sets HOLD_NAME, HOLD_SERVER, HOLD_SINCE (a full snapshot id, or none), HOLD_AT and HOLD_REASON
# to the newest hold's, all empty when no hold was ever written. A listing or a record that cannot
# be read, or that holds anything else, is fatal: an unknown holder never reads as "nobody".
read_hold() {
  HOLD_NAME='' HOLD_SERVER='' HOLD_SINCE='' HOLD_AT='' HOLD_REASON=''
  local rc=0 names name content key value unknown="which server holds ${BACKUP_APP:-the app} cannot be told"
  names=$(rclone lsf "$RECORDS/$HOLDS_DIR" 2>"$WORK_DIR/holds.err") || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    cat "$WORK_DIR/holds.err" >&2
    die "cannot list $RECORDS/$HOLDS_DIR (rclone exit $rc): $unknown"
  fi
  [ -n "$names" ] || return 0
  while IFS= read -r name; do
    [[ "$name" =~ ^[0-9]{10}-[a-zA-Z0-9][a-zA-Z0-9._-]*$ ]] ||
      die "$RECORDS/$HOLDS_DIR holds '$name', which is no hold record: $unknown; look at it before going on"
  done <<<"$names"
  HOLD_NAME=$(LC_ALL=C sort <<<"$names" | tail -n 1)
  content=$(read_record "$HOLDS_DIR/$HOLD_NAME" "$unknown")
  while IFS=' ' read -r key value; do
    case "$key" in
      server) HOLD_SERVER=$value ;;
      since) HOLD_SINCE=$value ;;
      at) HOLD_AT=$value ;;
      reason) HOLD_REASON=$value ;;
    esac
  done <<<"$content"
  if [ "$HOLD_SERVER" != "${HOLD_NAME#*-}" ] || ! [[ "$HOLD_SINCE" =~ ^(none|[0-9a-f]{64})$ ]]; then
    die "$RECORDS/$HOLDS_DIR/$HOLD_NAME is not a hold record of server ${HOLD_NAME#*-} (server and since lines): $unknown"
  fi
}

# "cloud-b (since snapshot 1a2b3c4d, at <UTC time>, migrate)": the hold read_hold read, for logs.
describe_hold() {
  [ -n "$HOLD_SERVER" ] || {
    printf 'nobody'
    return
  }
  local since="snapshot ${HOLD_SINCE:0:8}"
  [ "$HOLD_SINCE" != none ] || since="no snapshot"
  printf '%s (since %s, at %s, %s)' "$HOLD_SERVER" "$since" "$HOLD_AT" "$HOLD_REASON"
}

# take_hold SERVER SINCE REASON EXPECTED: writes the hold that follows EXPECTED, the newest record
# when the caller decided (empty: none), so that a hold taken meanwhile is never passed over; then
# reads it back. Two servers taking it at once write the same sequence number: the one whose
# record sorts last holds it, and the other fails here.
take_hold() {
  local server=$1 since=$2 reason=$3 expected=$4 sequence=1 name existing
  read_hold
  [ "$HOLD_NAME" = "$expected" ] ||
    die "the hold of $BACKUP_APP changed meanwhile: $(describe_hold) holds it now; nothing was taken"
  [ -z "$HOLD_NAME" ] || sequence=$((10#${HOLD_NAME%%-*} + 1))
  name=$(printf '%010d-%s' "$sequence" "$server")
  # Assigned first: a failed read must stop here, not pass for "no record".
  existing=$(read_record "$HOLDS_DIR/$name" "whether $name was taken cannot be told")
  [ -z "$existing" ] ||
    die "$RECORDS/$HOLDS_DIR/$name exists already: another run takes the hold at the same time; nothing was taken"
  printf 'server %s\nsince %s\nat %s\nreason %s\n' "$server" "$since" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$reason" |
    rclone rcat "$RECORDS/$HOLDS_DIR/$name"
  read_hold
  if [ "$HOLD_NAME" != "$name" ] || [ "$HOLD_SINCE" != "$since" ]; then
    die "another server took the hold of $BACKUP_APP at the same time: $(describe_hold) holds it"
  fi
  log "$server holds $BACKUP_APP now: $(describe_hold)"
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
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 ! -name lost+found ||
    die "cannot list $BACKUP_DIR as this job's user (uid $(id -u)): whether it holds data cannot be told"
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
  find "$BACKUP_DIR/$1" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name "$RESTORE_MARKER" ||
    die "cannot list volume $1 as this job's user (uid $(id -u)): whether it holds data cannot be told"
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
