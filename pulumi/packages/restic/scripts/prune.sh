#!/usr/bin/env bash
# Behind `task backup:prune STACK=<stack> [APP=<app>]`, on the operator's machine: keeps each app's
# retention in its repository, which the jobs in the cluster cannot do when their storage keys
# cannot delete history (backup:appendOnly). For every app the stack backs up (its projects'
# `backups` outputs: repository, retention, the sops file of its password), with the operator's
# full-access storage credentials: removes stale locks, forgets the snapshots beyond the
# retention and prunes what no snapshot uses, then checks the repository.
#   prune.sh STACK [APP] [PROJECTS_DIR]
# DRY_RUN=1 lists what would be forgotten and changes nothing.
# Exit code: 0 every repository pruned; 1 one failed (the others are still pruned); 2 bad usage.
set -euo pipefail

SCRIPT_NAME=prune
scripts_dir=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=common.sh
. "$scripts_dir/common.sh"
# shellcheck source=operator-lib.sh
. "$scripts_dir/operator-lib.sh"

root=$(cd "$scripts_dir/../../../.." && pwd)
stack=${1:-}
only=${2:-}
projects_dir=${3:-$root/pulumi/projects}
if [ -z "$stack" ]; then
  echo "usage: prune.sh STACK [APP] [PROJECTS_DIR]" >&2
  exit 2
fi
case "${DRY_RUN:-}" in
  '' | 0) forget_args=(--prune) ;;
  1) forget_args=(--dry-run) ;;
  *) echo "DRY_RUN must be 1 or unset, got '$DRY_RUN'" >&2 && exit 2 ;;
esac
command -v restic >/dev/null || { echo "restic is not installed" >&2 && exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

stack_backups "$stack" "$projects_dir" "$work" >"$work/backups.list"
if [ -n "$only" ] && ! cut -d "$FIELD" -f2 "$work/backups.list" | grep -qxF "$only"; then
  echo "stack $stack backs up no app $only; it backs up: $(cut -d "$FIELD" -f2 "$work/backups.list" | sort | paste -sd ' ' -)" >&2
  exit 2
fi
if [ ! -s "$work/backups.list" ]; then
  echo "no project of stack $stack exports backups (is it deployed? pulumi stack output backups)" >&2
  exit 1
fi

failed=()
while IFS=$FIELD read -r project app _schedule repository daily weekly monthly secrets_file; do
  [ -z "$only" ] || [ "$app" = "$only" ] || continue
  BACKUP_APP=$app
  KEEP_DAILY=${daily:-7} KEEP_WEEKLY=${weekly:-4} KEEP_MONTHLY=${monthly:-6}
  log "$project: $repository (keep daily $KEEP_DAILY, weekly $KEEP_WEEKLY, monthly $KEEP_MONTHLY${DRY_RUN:+, dry run})"
  if ! repository_password "$root" "$secrets_file" "$work/password"; then
    failed+=("$app")
    continue
  fi
  export RESTIC_REPOSITORY=$repository RESTIC_PASSWORD_FILE=$work/password
  # Each step needs the one before: a lock left by a dead job would block the prune, and a failed
  # prune is checked by nobody. The dry run changes nothing, so it removes no lock either.
  if { [ -n "${DRY_RUN:-}" ] || step "remove stale locks" restic unlock; } &&
    step "forget beyond the retention$([ -n "${DRY_RUN:-}" ] || echo ' and prune')" apply_retention "${forget_args[@]}" &&
    { [ -n "${DRY_RUN:-}" ] || step "check the repository" restic check; }; then
    log "done"
  else
    failed+=("$app")
  fi
  rm -f "$work/password"
done <"$work/backups.list"

if [ ${#failed[@]} -gt 0 ]; then
  echo "prune failed for: ${failed[*]}" >&2
  exit 1
fi
