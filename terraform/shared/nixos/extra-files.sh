#!/usr/bin/env bash
# nixos-anywhere runs this in an empty directory whose contents it copies to the new server's /.
# It places the server's own SSH host key, decrypted from secrets/hosts/<host>.yaml: sshd keeps the same
# identity across reinstalls, and sops-nix on the server derives from it the age key that decrypts the
# rest of that file (k3s CAs, Tailscale auth key).
set -euo pipefail

: "${SECRETS_FILE:?SECRETS_FILE is set by terraform/shared/nixos}"
if [ ! -f "$SECRETS_FILE" ]; then
  echo "extra-files.sh: $SECRETS_FILE is missing; run: task servers:secrets HOST=<host>" >&2
  exit 1
fi

mkdir -p etc/ssh
(
  umask 0077
  sops --decrypt --extract '["ssh"]["host_ed25519_key"]' "$SECRETS_FILE" >etc/ssh/ssh_host_ed25519_key
)
public_key=$(sops --decrypt --extract '["ssh"]["host_ed25519_key_pub"]' "$SECRETS_FILE")
printf '%s\n' "$public_key" >etc/ssh/ssh_host_ed25519_key.pub
chmod 0644 etc/ssh/ssh_host_ed25519_key.pub
