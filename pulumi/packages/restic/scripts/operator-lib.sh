# shellcheck shell=bash
# Shared by backup-status.sh and prune.sh, the operator's tasks (sourced, never run): the apps a
# stack backs up, from its projects' `backups` outputs, and each repository's password, from the
# sops file the output names. The storage is reached with the operator's own rclone configuration
# (RCLONE_CONFIG or RCLONE_CONFIG_<REMOTE>_* variables, from secrets/shared/env.yaml after `unlock`;
# rclone's default config file otherwise), never with a cluster's keys.

# The field separator of stack_backups' lines: not whitespace, so that `read` keeps empty fields.
# shellcheck disable=SC2034 # used by the scripts that source this file
FIELD=$'\x1f'

# stack_backups STACK PROJECTS_DIR WORK_DIR: prints one line per app the stack backs up, its fields
# separated by FIELD: project, app, schedule, repository, daily, weekly, monthly, secrets file. A
# project without the output backs nothing up (or is not deployed on this stack).
stack_backups() {
  local stack=$1 projects_dir=$2 work=$3 dir project
  for dir in "$projects_dir"/*/; do
    project=$(basename "$dir")
    [ -f "$dir/Pulumi.$stack.yaml" ] || continue
    if ! pulumi stack output backups --json --stack "$stack" --cwd "$dir" >"$work/$project.json" 2>/dev/null; then
      continue
    fi
    node -e '
      const [file, project] = process.argv.slice(1);
      for (const entry of JSON.parse(require("fs").readFileSync(file, "utf8"))) {
        const keep = entry.retention ?? {};
        console.log([project, entry.app, entry.schedule, entry.repository, keep.daily ?? "", keep.weekly ?? "",
          keep.monthly ?? "", entry.secretsFile ?? ""].join("\x1f"));
      }
    ' "$work/$project.json" "$project"
  done
}

# repository_password ROOT SECRETS_FILE OUT: writes the repository's restic password (resticPassword
# of its sops file) into OUT, readable by the operator only; fails saying which file could not be read.
repository_password() {
  local root=$1 file=$2 out=$3
  if [ -z "$file" ]; then
    echo "the backups output names no secrets file (deploy the project again)" >&2
    return 1
  fi
  (umask 077 && sops --decrypt --extract '["resticPassword"]' "$root/$file" >"$out") || {
    echo "cannot decrypt resticPassword of $file (is your age key loaded? run unlock)" >&2
    return 1
  }
}
