#!/usr/bin/env bash
# Behind `task backup:status STACK=<stack>`, on the operator's machine: the latest snapshot of every
# app the stack backs up, stale ones flagged (no snapshot since the second-to-last run of the
# app's schedule; see src/snapshot-status.ts). The apps, schedules and repositories come from each
# project's `backups` output (pulumi stack output); each repository is read with restic, through
# rclone, with the stack's backup secrets, set once in the shared project (pulumi config get).
#   backup-status.sh STACK [PROJECTS_DIR]
# Exit code: 0 every app is fresh; 1 an app is stale or its repository cannot be read; 2 bad usage.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
stack=${1:-}
projects_dir=${2:-$root/pulumi/projects}
if [ -z "$stack" ]; then
  echo "usage: backup-status.sh STACK [PROJECTS_DIR]" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

# Every repository of the stack opens with the stack's settings, kept in the shared project.
pulumi config get backup:resticPassword --stack "$stack" --cwd "$projects_dir/shared" >"$work/password"
pulumi config get backup:rcloneConfig --stack "$stack" --cwd "$projects_dir/shared" >"$work/rclone.conf"

inputs=()
apps=()
unreadable=0
for dir in "$projects_dir"/*/; do
  project=$(basename "$dir")
  [ -f "$dir/Pulumi.$stack.yaml" ] || continue
  # A project without the output backs nothing up (or is not deployed on this stack).
  if ! pulumi stack output backups --json --stack "$stack" --cwd "$dir" >"$work/$project.json" 2>/dev/null; then
    continue
  fi
  entries=$(node -e '
    for (const entry of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))
      console.log([entry.app, entry.schedule, entry.repository].join("\t"));
  ' "$work/$project.json")
  while IFS=$'\t' read -r app schedule repository; do
    [ -n "$app" ] || continue
    apps+=(--app "$app=$schedule")
    snapshots="$work/$project-$app.snapshots.json"
    if RESTIC_REPOSITORY="$repository" RESTIC_PASSWORD_FILE="$work/password" \
      RCLONE_CONFIG="$work/rclone.conf" RESTIC_CACHE_DIR="$work/cache" \
      restic snapshots --json --no-lock --host "$app" --tag "$app" >"$snapshots" 2>"$work/restic.err"; then
      inputs+=(--input "$snapshots")
    else
      unreadable=1
      echo "$project: cannot read the repository of $app ($repository):" >&2
      sed 's/^/  /' "$work/restic.err" >&2
    fi
  done <<<"$entries"
done

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
