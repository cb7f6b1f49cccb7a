#!/bin/bash
# Reports the free space of the filesystem that holds the cluster's volumes to the monitor, as a
# push to its external endpoint: a failure when less than DISK_MIN_FREE_PERCENT is free. The
# monitor alerts on a failure, and when pushes stop (its heartbeat).
#
# DISK_PATH              a directory on that filesystem (a volume of the default storage class)
# DISK_MIN_FREE_PERCENT  the least free space, in percent of the filesystem, that passes
# GATUS_URL              the monitor's base URL
# GATUS_ENDPOINT_KEY     the external endpoint's key (<group>_<name>)
# GATUS_TOKEN_FILE       a file holding the endpoint's bearer token
set -euo pipefail

: "${DISK_PATH:?}" "${DISK_MIN_FREE_PERCENT:?}" "${GATUS_URL:?}" "${GATUS_ENDPOINT_KEY:?}" "${GATUS_TOKEN_FILE:?}"

# POSIX output in 1024-byte blocks: the second line is "<fs> <size> <used> <available> <use%> <mount>".
read -r size available < <(df -P -k "$DISK_PATH" | awk 'NR == 2 { print $2, $4 }')
if [[ -z "${size:-}" || "$size" -eq 0 ]]; then
  echo "disk-check: df reported no size for $DISK_PATH" >&2
  exit 1
fi
free_percent=$((available * 100 / size))
free_mib=$((available / 1024))
if ((free_percent >= DISK_MIN_FREE_PERCENT)); then
  success=true
  error=""
else
  success=false
  error="only ${free_percent}% (${free_mib} MiB) free on the volumes' filesystem, below ${DISK_MIN_FREE_PERCENT}%"
fi
echo "disk-check: ${free_percent}% (${free_mib} MiB) free; success=${success}"

token=$(<"$GATUS_TOKEN_FILE")
# The token goes in a header read from stdin, never on the command line.
printf 'Authorization: Bearer %s\n' "$token" |
  curl --fail --silent --show-error --max-time 30 --header @- \
    --request POST --get \
    --data-urlencode "success=${success}" \
    --data-urlencode "error=${error}" \
    "${GATUS_URL%/}/api/v1/endpoints/${GATUS_ENDPOINT_KEY}/external"
echo
