#!/usr/bin/env bash
# The VPN relay's upstream container: brings wg0 up from the rendered wg0.conf and takes it down
# (running its PreDown rules) when the pod stops, so a restart always finds a clean namespace.
set -euo pipefail

conf="${WG_CONF:-/config/wg0.conf}"

# A container killed without its trap leaves wg0 (and its rules) behind; wg-quick refuses to
# bring up an interface that exists, so take the leftovers down first.
if ip link show wg0 >/dev/null 2>&1; then
  echo "removing a wg0 left by a previous run"
  wg-quick down "$conf" || ip link delete wg0
fi

wg-quick up "$conf"
echo "wg0 is up"

stop() {
  echo "stopping: taking wg0 down"
  wg-quick down "$conf"
  exit 0
}
trap stop TERM INT

sleep infinity &
wait $!
