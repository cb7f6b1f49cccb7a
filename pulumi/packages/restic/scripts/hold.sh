#!/usr/bin/env bash
# For task migrate and the operator: shows or writes which server holds an app (README.md, "Which
# server holds an app"). Reads the jobs' settings: RESTIC_REPOSITORY (or BACKUP_RECORDS) and the
# rclone configuration; no restic password, as the holds are plain files beside the repository.
#   hold.sh show                      prints server=<s> since=<id> at=<t> reason=<r>, or none
#   hold.sh take SERVER SINCE REASON  SINCE: a full snapshot id or none; REASON: first, migrate,
#                                     rollback or forced
# Exit code: 0 done; 1 the holds cannot be read or written; 2 bad usage.
set -euo pipefail

SCRIPT_NAME=hold
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  echo "usage: hold.sh show | hold.sh take SERVER SINCE REASON (SINCE: a full snapshot id or none; REASON: first, migrate, rollback or forced)" >&2
  exit 2
}

[ -n "${RESTIC_REPOSITORY:-}${BACKUP_RECORDS:-}" ] || config_error "RESTIC_REPOSITORY is not set"
RESTIC_REPOSITORY=${RESTIC_REPOSITORY:-}
read_records_path
BACKUP_APP=${BACKUP_APP:-${RECORDS##*/}}
make_work_dir

case "${1:-}:$#" in
  show:1)
    read_hold
    if [ -z "$HOLD_SERVER" ]; then
      echo none
    else
      echo "server=$HOLD_SERVER since=$HOLD_SINCE at=$HOLD_AT reason=$HOLD_REASON"
    fi
    ;;
  take:4)
    server=$2 since=$3 reason=$4
    require_identity SERVER "$server"
    [[ "$since" =~ ^(none|[0-9a-f]{64})$ ]] || config_error "SINCE '$since' must be a full snapshot id (64 hex digits) or none"
    case "$reason" in
      first | migrate | rollback | forced) ;;
      *) config_error "REASON must be first, migrate, rollback or forced, got '$reason'" ;;
    esac
    read_hold
    if [ "$HOLD_SERVER:$HOLD_SINCE" = "$server:$since" ]; then
      log "$server holds $BACKUP_APP already: $(describe_hold); nothing to do"
      exit 0
    fi
    log "taking $BACKUP_APP from $(describe_hold)"
    take_hold "$server" "$since" "$reason" "$HOLD_NAME"
    ;;
  *) usage ;;
esac
