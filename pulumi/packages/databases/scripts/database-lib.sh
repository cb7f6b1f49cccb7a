# shellcheck shell=bash
# Logging shared by the PostgreSQL and MariaDB libraries (sourced, never run).

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# timed DESCRIPTION COMMAND [ARG...]: logs the command's start, end and duration; errexit stays on
# inside shell functions (see restic/scripts/common.sh).
timed() {
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
