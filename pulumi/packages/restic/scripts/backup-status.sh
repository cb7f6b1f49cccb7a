#!/usr/bin/env bash
# Behind `task backup:status STACK=<stack>`, on the operator's machine: the latest snapshot of every
# app the stack backs up, stale ones flagged (no snapshot since the second-to-last run of the
# app's schedule; see src/snapshot-status.ts). The apps, schedules, repositories and the sops file
# of each repository's password come from each project's `backups` output (pulumi stack output);
# each repository is read with restic, through rclone, with the operator's own storage
# credentials (operator-lib.sh).
#   backup-status.sh STACK [PROJECTS_DIR]
# Exit code: 0 every app is fresh; 1 an app is stale or its repository cannot be read; 2 bad usage.
set -euo pipefail

scripts_dir=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=operator-lib.sh
. "$scripts_dir/operator-lib.sh"

root=$(cd "$scripts_dir/../../../.." && pwd)
stack=${1:-}
projects_dir=${2:-$root/pulumi/projects}
if [ -z "$stack" ]; then
  echo "usage: backup-status.sh STACK [PROJECTS_DIR]" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

inputs=()
apps=()
unreadable=0
stack_backups "$stack" "$projects_dir" "$work" >"$work/backups.list"
while IFS=$FIELD read -r project app schedule repository _daily _weekly _monthly secrets_file; do
  apps+=(--app "$app=$schedule")
  snapshots="$work/$project-$app.snapshots.json"
  if repository_password "$root" "$secrets_file" "$work/password" 2>"$work/restic.err" &&
    RESTIC_REPOSITORY="$repository" RESTIC_PASSWORD_FILE="$work/password" RESTIC_CACHE_DIR="$work/cache" \
      restic snapshots --json --no-lock --host "$app" --tag "$app" >"$snapshots" 2>"$work/restic.err"; then
    inputs+=(--input "$snapshots")
  else
    unreadable=1
    echo "$project: cannot read the repository of $app ($repository):" >&2
    sed 's/^/  /' "$work/restic.err" >&2
  fi
  rm -f "$work/password"
done <"$work/backups.list"

if [ ${#apps[@]} -eq 0 ]; then
  echo "no project of stack $stack exports backups (is it deployed? pulumi stack output backups)" >&2
  exit 1
fi
# Apps whose repository could not be read show as having no snapshot.
if [ ${#inputs[@]} -eq 0 ]; then
  echo "[]" >"$work/none.json"
  inputs=(--input "$work/none.json")
fi

status=0
# From the repository's root, where node finds tsx.
(cd "$root" && node --import tsx pulumi/packages/restic/src/snapshot-status-cli.ts "${inputs[@]}" "${apps[@]}") ||
  status=$?
if [ "$status" -eq 0 ] && [ "$unreadable" -ne 0 ]; then
  status=1
fi
exit "$status"
