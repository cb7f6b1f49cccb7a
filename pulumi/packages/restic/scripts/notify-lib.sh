# shellcheck shell=bash
# Reports a job's outcome to the stack's notification target (backup:notify): sourced by
# backup.sh and restore.sh (and any job that reports like them: drills), never run. The interface
# is in README.md, "Notifications". A notification that cannot be sent never fails the job: it is
# logged as a warning, without the target's URL (it may hold a token or a ping key).
#   NOTIFY_KIND                 ntfy, healthchecks or webhook; empty or unset: no notification
#   NOTIFY_URL_FILE, NOTIFY_URL the target's URL (a file holding it, or the value)
#   NOTIFY_HEARTBEAT_FILE, NOTIFY_HEARTBEAT
#                               optional healthchecks ping base pinged by scheduled jobs that
#                               succeed (a dead man's switch beside an ntfy or webhook target)
#   NOTIFY_ATTEMPTS             tries per request (default 3), NOTIFY_RETRY_SECONDS between them (5)
# Requests are sent with rclone (static, in every job): `rclone rc` POSTs a JSON document.

# When the job started: what durationSeconds counts from.
NOTIFY_STARTED=${NOTIFY_STARTED:-$SECONDS}

# notify_log MESSAGE: the job's own log function when there is one.
notify_log() {
  if declare -F log >/dev/null; then
    log "$*"
  else
    printf '%s notify[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${BACKUP_APP:-?}" "$*" >&2
  fi
}

# notify_setting NAME: the value of NAME_FILE's file, else of NAME; empty when neither is set.
notify_setting() {
  local file_var="${1}_FILE" value_var=$1
  if [ -n "${!file_var:-}" ]; then
    if [ -r "${!file_var}" ]; then
      tr -d '\r\n' <"${!file_var}"
    fi
    return 0
  fi
  printf '%s' "${!value_var:-}"
}

# json_string TEXT: TEXT as a JSON string.
json_string() {
  local text=$1
  text=${text//\\/\\\\}
  text=${text//\"/\\\"}
  text=${text//$'\n'/\\n}
  text=${text//$'\r'/\\r}
  text=${text//$'\t'/\\t}
  printf '"%s"' "$(printf '%s' "$text" | LC_ALL=C tr -d '\000-\010\013\014\016-\037')"
}

# healthchecks_slug JOB: the check's slug, the backup's identity and the job's kind
# (`notes-backup`, `postgresql-cloud-a-restore`): lower-case letters, digits, '-' and '_'.
healthchecks_slug() {
  local slug
  slug=$(printf '%s-%s' "${BACKUP_APP:-unknown}" "$1" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_\n-' '-')
  printf '%s' "$slug"
}

# notify_post URL JSON: POSTs JSON to URL; returns non-zero (and sets NOTIFY_ERROR to why, never
# the URL) when it was not accepted with a 2xx answer. `rclone rc` reads the answer as JSON: a 2xx
# answer that is not JSON (healthchecks' "OK") is accepted too.
notify_post() {
  local url=$1 json=$2 base path err attempt=1 attempts=${NOTIFY_ATTEMPTS:-3} rc
  case "$url" in
    https://* | http://*) ;;
    *)
      NOTIFY_ERROR="the URL is not an http(s) URL"
      return 1
      ;;
  esac
  # rclone rc POSTs to <--url><command>: the URL up to its last '/' and what follows.
  local rest=${url#*://}
  case "$rest" in
    */*)
      base="${url%%://*}://${rest%/*}/"
      path=${rest##*/}
      # A query in the last part after a '/' (…/x?create=1) stays with the path.
      ;;
    *)
      base="$url/"
      path=""
      ;;
  esac
  err=$(mktemp)
  while :; do
    rc=0
    timeout 60 rclone rc --url "$base" "$path" --json "$json" --contimeout 10s --timeout 30s \
      >/dev/null 2>"$err" || rc=$?
    if [ "$rc" -eq 0 ] || grep -q "failed to decode JSON" "$err"; then
      rm -f "$err"
      return 0
    fi
    if grep -q "failed to read rc response: [0-9]" "$err"; then
      NOTIFY_ERROR="the target answered HTTP $(grep -o "failed to read rc response: [0-9]*" "$err" | head -n 1 | grep -o '[0-9]*$')"
    elif grep -q "connection failed" "$err"; then
      NOTIFY_ERROR="cannot connect to the target"
    elif [ "$rc" -eq 124 ]; then
      NOTIFY_ERROR="no answer within 60s"
    else
      NOTIFY_ERROR="rclone rc exit $rc"
    fi
    [ "$attempt" -lt "$attempts" ] || break
    attempt=$((attempt + 1))
    sleep "${NOTIFY_RETRY_SECONDS:-5}"
  done
  rm -f "$err"
  return 1
}

# "1.5 MiB": BYTES for people.
notify_size() {
  awk -v bytes="$1" 'BEGIN {
    split("B KiB MiB GiB TiB", units, " ")
    value = bytes; unit = 1
    while (value >= 1024 && unit < 5) { value /= 1024; unit++ }
    if (unit == 1) printf "%d B", value; else printf "%.1f %s", value, units[unit]
  }'
}

# notify_outcome JOB OUTCOME MESSAGE [KEY=VALUE...]: reports JOB's (backup, final-backup,
# restore, drill) OUTCOME (success or failure) with MESSAGE to the stack's target. Keys:
# snapshot (its id), bytesAdded (a number of bytes), step (the step that failed),
# durationSeconds (default: seconds since the library was sourced). Always returns 0.
notify_outcome() {
  local job=$1 outcome=$2 message=$3
  shift 3
  local kind=${NOTIFY_KIND:-} snapshot="" bytes="" step="" duration=$((SECONDS - NOTIFY_STARTED)) pair
  for pair in "$@"; do
    case "$pair" in
      snapshot=*) snapshot=${pair#*=} ;;
      bytesAdded=*) bytes=${pair#*=} ;;
      step=*) step=${pair#*=} ;;
      durationSeconds=*) duration=${pair#*=} ;;
      *) notify_log "warning: notify_outcome: unknown detail '${pair%%=*}' left out" ;;
    esac
  done
  case "$bytes" in *[!0-9]*) bytes="" ;; esac
  case "$duration" in '' | *[!0-9]*) duration=0 ;; esac
  case "$outcome" in
    success | failure) ;;
    *)
      notify_log "warning: notify_outcome: outcome '$outcome' is neither success nor failure: not sent"
      return 0
      ;;
  esac
  [ -n "$kind" ] || return 0
  local url heartbeat
  url=$(notify_setting NOTIFY_URL)
  heartbeat=$(notify_setting NOTIFY_HEARTBEAT)
  if [ -z "$url" ]; then
    notify_log "warning: NOTIFY_KIND is $kind but the notification URL is empty: the $outcome of this $job is not reported"
    return 0
  fi

  local document
  document="{\"app\":$(json_string "${BACKUP_APP:-}"),\"server\":$(json_string "${BACKUP_SERVER:-}"),\"job\":$(json_string "$job"),\"outcome\":\"$outcome\""
  [ -z "$snapshot" ] || document+=",\"snapshot\":$(json_string "$snapshot")"
  [ -z "$bytes" ] || document+=",\"bytesAdded\":$bytes"
  document+=",\"durationSeconds\":$duration"
  [ -z "$step" ] || document+=",\"step\":$(json_string "$step")"
  document+=",\"message\":$(json_string "$message")}"

  # Scheduled jobs (backup, drill) are checks that expect a ping each run: a schedule that stops
  # alerts through the check's grace time. One-off jobs (restore, final-backup) only log an event
  # when they succeed, which never makes a check expect more.
  local scheduled=false
  case "$job" in backup | drill) scheduled=true ;; esac
  local target json slug
  case "$kind" in
    ntfy)
      local title priority tags details=""
      [ -z "$snapshot" ] || details+="snapshot ${snapshot:0:8}"
      [ -z "$bytes" ] || details+="${details:+, }$(notify_size "$bytes") added"
      details+="${details:+, }${duration}s"
      [ -z "$step" ] || details+=", failed step: $step"
      if [ "$outcome" = success ]; then
        title="$job of ${BACKUP_APP:-?} on ${BACKUP_SERVER:-?} succeeded" priority=2 tags='["white_check_mark"]'
      else
        title="$job of ${BACKUP_APP:-?} on ${BACKUP_SERVER:-?} FAILED" priority=4 tags='["rotating_light"]'
      fi
      # ntfy's JSON publishing: to the server's root, the topic in the document.
      local topic=${url##*/}
      target=${url%/*}/
      json="{\"topic\":$(json_string "$topic"),\"title\":$(json_string "$title"),\"message\":$(json_string "$message ($details)"),\"priority\":$priority,\"tags\":$tags}"
      ;;
    healthchecks)
      slug=$(healthchecks_slug "$job")
      if [ "$outcome" = failure ]; then
        target="${url%/}/$slug/fail?create=1"
      elif [ "$scheduled" = true ]; then
        target="${url%/}/$slug?create=1"
      else
        target="${url%/}/$slug/log?create=1"
      fi
      json=$document
      ;;
    webhook)
      target=$url json=$document
      ;;
    *)
      notify_log "warning: NOTIFY_KIND '$kind' is not ntfy, healthchecks or webhook: the $outcome of this $job is not reported"
      return 0
      ;;
  esac
  NOTIFY_ERROR=""
  if notify_post "$target" "$json"; then
    notify_log "notified $kind: $job $outcome"
  else
    notify_log "warning: the $kind notification of this $job's $outcome was not delivered ($NOTIFY_ERROR); the job's outcome stands"
  fi
  if [ -n "$heartbeat" ] && [ "$kind" != healthchecks ] && [ "$scheduled" = true ] && [ "$outcome" = success ]; then
    slug=$(healthchecks_slug "$job")
    if notify_post "${heartbeat%/}/$slug?create=1" "$document"; then
      notify_log "heartbeat sent: $slug"
    else
      notify_log "warning: the heartbeat of this $job was not delivered ($NOTIFY_ERROR)"
    fi
  fi
  return 0
}

# Used by the jobs' scripts: a state file where `step` notes the first step that failed, and the
# jobs note what they report (snapshot, bytes added, the error that stopped them).
NOTIFY_STATE=${NOTIFY_STATE:-$(mktemp)}

# notify_note KEY VALUE: records VALUE for KEY (the first one of `step` and `error` wins).
notify_note() {
  case "$1" in
    step | error) ! grep -q "^$1=" "$NOTIFY_STATE" 2>/dev/null || return 0 ;;
  esac
  printf '%s=%s\n' "$1" "${2//$'\n'/ }" >>"$NOTIFY_STATE" 2>/dev/null || true
}

# notify_noted KEY: the last VALUE noted for KEY (the first for step and error).
notify_noted() {
  local line
  case "$1" in
    step | error) line=$(grep "^$1=" "$NOTIFY_STATE" 2>/dev/null | head -n 1) ;;
    *) line=$(grep "^$1=" "$NOTIFY_STATE" 2>/dev/null | tail -n 1) ;;
  esac
  printf '%s' "${line#*=}"
}

# notify_job JOB SUCCESS-MESSAGE FUNCTION [ARG...]: runs the job's main function in a subshell
# with errexit, reports its outcome (the noted snapshot and bytes added; on failure the step that
# failed and the error), and exits with its exit code.
notify_job() {
  local job=$1 success=$2 rc=0
  shift 2
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  local details=() snapshot bytes step error message
  snapshot=$(notify_noted snapshot)
  bytes=$(notify_noted bytesAdded)
  [ -z "$snapshot" ] || details+=("snapshot=$snapshot")
  [ -z "$bytes" ] || details+=("bytesAdded=$bytes")
  if [ "$rc" -eq 0 ]; then
    message=$(notify_noted message)
    notify_outcome "$job" success "${message:-$success}" "${details[@]}"
  else
    step=$(notify_noted step)
    error=$(notify_noted error)
    [ -z "$step" ] || details+=("step=$step")
    message="$job of ${BACKUP_APP:-?} failed (exit $rc)${step:+ in step: $step}${error:+: $error}"
    notify_outcome "$job" failure "$message" "${details[@]}"
  fi
  rm -f "$NOTIFY_STATE"
  return "$rc"
}
