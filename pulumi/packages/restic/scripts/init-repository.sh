#!/usr/bin/env bash
# Behind `task backup:init-repository NAME=<name> STACK=<stack>`, on the operator's machine, once
# per repository before its first deployment: marks the place of repository NAME under the
# stack's backup:remote as that repository's, so that a restore there may start its app empty
# while restic finds no repository (README.md, "A repository that is gone"). An existing
# repository without records gets its creation record too. Uses the operator's own storage
# credentials (RCLONE_CONFIG or rclone's default config).
#   init-repository.sh REMOTE NAME
# Exit code: 0 marked (or already marked); 1 the place cannot be marked; 2 bad usage.
set -euo pipefail

SCRIPT_NAME=init-repository
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

remote=${1:-}
BACKUP_APP=${2:-}
if [ -z "$remote" ] || [ -z "$BACKUP_APP" ]; then
  echo "usage: init-repository.sh REMOTE NAME (REMOTE: <rclone remote>:<bucket>[/<path>], as backup:remote)" >&2
  exit 2
fi
require_identity NAME "$BACKUP_APP"
command -v rclone >/dev/null || config_error "rclone is not installed"
RECORDS=$remote/$BACKUP_APP
make_work_dir

if ! rclone lsf --max-depth 1 "$remote" >/dev/null 2>"$WORK_DIR/list.err"; then
  cat "$WORK_DIR/list.err" >&2
  die "cannot list $remote with your storage credentials: create the bucket (or fix backup:remote) first"
fi
marker=$(read_record "$REPOSITORY_MARKER")
if [ "$marker" = "$REPOSITORY_MARKER_TEXT" ]; then
  log "$RECORDS is already marked as repository $BACKUP_APP's: nothing to do"
  exit 0
fi
[ -z "$marker" ] || die "$RECORDS/$REPOSITORY_MARKER holds something else than a marker; look at it before going on"

config=$(read_record config)
if [ -n "$config" ]; then
  # Its history predates the records: losing its files must never read as "never had one".
  step "record that the existing repository exists ($CREATION_RECORD)" record_creation
else
  rc=0
  contents=$(rclone lsf "$RECORDS" 2>"$WORK_DIR/place.err") || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    cat "$WORK_DIR/place.err" >&2
    die "cannot list $RECORDS (rclone exit $rc)"
  fi
  [ -z "$contents" ] ||
    die "$RECORDS holds files but no restic repository (${contents//$'\n'/, }): not marking a place that" \
      "holds something else; check backup:remote and NAME"
fi
printf '%s\n' "$REPOSITORY_MARKER_TEXT" | rclone rcat "$RECORDS/$REPOSITORY_MARKER"
log "marked $RECORDS as repository $BACKUP_APP's: its first restore may start the app empty, and its first backup creates the repository"
