# shellcheck shell=bash
# Sourced by the devcontainer's ~/.bashrc; defines `unlock`.
#
# `unlock` asks for the passphrase of your age identity once per shell (keeping the identity in
# SOPS_AGE_KEY, where sops finds it), then exports every variable in secrets/shared/env.yaml
# (PULUMI_CONFIG_PASSPHRASE, HCLOUD_TOKEN, PROXMOX_VE_API_TOKEN, RCLONE_CONFIG_STORAGE_*, ...) for the tools run
# from this shell. Nothing decrypted is written to disk. The identity is the file
# ~/.config/homelab/age-identity.age, made with `age-keygen | age --passphrase --armor` (docs/servers.md).

unlock() {
  local repo="${HOMELAB_REPO:-$PWD}"
  local identity="${HOMELAB_AGE_IDENTITY:-$HOME/.config/homelab/age-identity.age}"
  local env_file="$repo/secrets/shared/env.yaml"
  if [ -z "${SOPS_AGE_KEY:-}" ]; then
    if [ ! -f "$identity" ]; then
      echo "unlock: no age identity at $identity (see docs/servers.md, \"Once: your age key\")" >&2
      return 1
    fi
    local key
    key=$(age --decrypt "$identity") || return 1
    export SOPS_AGE_KEY="$key"
  fi
  if [ ! -f "$env_file" ]; then
    echo "unlock: age identity loaded; $env_file does not exist yet (secrets/README.md)" >&2
    return 0
  fi
  local exports
  # jq quotes every value for the shell (@sh); keys that are not variable names are skipped.
  exports=$(sops --decrypt --output-type json "$env_file" | jq -r '
    to_entries[]
    | select(.key | test("^[A-Za-z_][A-Za-z0-9_]*$"))
    | "export \(.key)=\(.value | tostring | @sh)"') || return 1
  eval "$exports"
  echo "unlock: exported $(grep -c '^export ' <<<"$exports") variables from secrets/shared/env.yaml" >&2
}
