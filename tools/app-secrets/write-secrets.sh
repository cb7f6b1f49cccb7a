#!/usr/bin/env bash
# Creates or completes a sops-encrypted secrets file, run from the repository's root by
# `task app:secrets` and `task backup:secrets` (taskfiles/apps.yml, taskfiles/backup.yml):
#   write-secrets.sh secrets/apps/<app>.yaml | secrets/backups/<name>.yaml [STORAGE_CONFIG]
# Decrypts the file when it exists, lets the tool keep every value and add what is missing (and,
# given STORAGE_CONFIG, the rclone config file of the repository's storage key, as rcloneConfig),
# and encrypts the result for the recipients .sops.yaml names. Nothing is written in clear text:
# the new file replaces the old one only once sops encrypted it.
set -euo pipefail

file=${1:?usage: write-secrets.sh FILE [STORAGE_CONFIG]}
storage_config=${2:-}
tool=(./run node --import tsx tools/app-secrets/src/cli.ts "$file")
if [ -n "$storage_config" ]; then
  [ -r "$storage_config" ] || {
    echo "write-secrets: STORAGE_CONFIG '$storage_config' is not a readable file" >&2
    exit 2
  }
  tool+=(--provide "rcloneConfig=$storage_config")
fi

mkdir -p "$(dirname "$file")"
generate() {
  if grep -q '^sops:' "$file" 2>/dev/null; then
    sops --decrypt --output-type json "$file" | "${tool[@]}" --decrypted -
  else
    "${tool[@]}"
  fi
}
encrypted=$(mktemp "$(dirname "$file")/.$(basename "$file").XXXXXX")
trap 'rm -f "$encrypted"' EXIT
generate | sops --encrypt --filename-override "$file" --input-type yaml --output-type yaml /dev/stdin >"$encrypted"
mv "$encrypted" "$file"
trap - EXIT
echo "Wrote $file; commit it (its values open what they belong to on every server)." >&2
