#!/bin/sh
# Prepares Syncthing's home ($STHOMEDIR) before Syncthing starts, with Syncthing's own commands
# rather than edits of config.xml (Syncthing rewrites that file, and its format moves):
# - `syncthing generate` creates the device keys (the device ID) and a default config when they
#   are missing, keeps them otherwise, and sets the GUI user and password (stored as a bcrypt hash);
# - the options the platform decides ($SYNCTHING_OPTIONS, a JSON object) go through the REST API
#   (PATCH /rest/config/options) of a short run bound to the loopback: `generate` takes no options
#   and `syncthing cli config` needs a running instance too. Some of them (global discovery)
#   only take effect when Syncthing starts, so they are in place before the real start.
# Runs on every start: a changed option or password reaches the config the next time the pod starts.
set -eu

: "${STHOMEDIR:?}" "${GUI_USER:?}" "${GUI_PASSWORD:?}" "${SYNCTHING_OPTIONS:?}"

fail() {
  echo "configure: $*" >&2
  exit 1
}

# The password goes through standard input: never on a command line.
printf '%s\n' "$GUI_PASSWORD" |
  syncthing generate --no-port-probing --gui-user="$GUI_USER" --gui-password=-

api=http://127.0.0.1:8384
# An API key for this run only (Syncthing accepts STGUIAPIKEY beside the one in its config).
key=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
STGUIAPIKEY=$key syncthing serve --no-browser --no-restart --no-upgrade --gui-address="$api" &
serve=$!
trap 'kill "$serve" 2>/dev/null || true' EXIT

waited=0
until curl -fs -o /dev/null "$api/rest/noauth/health"; do
  kill -0 "$serve" 2>/dev/null || fail "syncthing serve exited before its API answered"
  waited=$((waited + 1))
  [ "$waited" -lt 300 ] || fail "Syncthing's API did not answer on $api within 300 s"
  sleep 1
done

curl -fsS -o /dev/null -X PATCH -H "X-API-Key: $key" -H "Content-Type: application/json" \
  --data "$SYNCTHING_OPTIONS" "$api/rest/config/options" || fail "Syncthing refused the options"
curl -fsS -o /dev/null -X POST -H "X-API-Key: $key" "$api/rest/system/shutdown" ||
  fail "Syncthing did not accept the shutdown"
wait "$serve" || fail "syncthing serve failed while shutting down"
trap - EXIT
echo "configure: keys, GUI credentials and options are in place"
