# shellcheck shell=bash
# Logging and Garage's admin API, shared by the object store's scripts (sourced, never run).
#
# GARAGE_ADMIN_URL        the admin API, e.g. http://garage-admin.object-storage.svc.cluster.local:3903
# GARAGE_ADMIN_TOKEN      the admin token (from the store's Secret)

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

require_env() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die "$name is not set"
  done
}

# The bearer token goes to curl in a header file, never on its command line: one file per run
# (GARAGE_AUTH_HEADER), removed when the script exits.
garage_auth_header() {
  if [ -z "${GARAGE_AUTH_HEADER:-}" ]; then
    require_env GARAGE_ADMIN_URL GARAGE_ADMIN_TOKEN
    GARAGE_AUTH_HEADER=$(mktemp)
    trap 'rm -f "$GARAGE_AUTH_HEADER"' EXIT
    printf 'Authorization: Bearer %s\n' "$GARAGE_ADMIN_TOKEN" >"$GARAGE_AUTH_HEADER"
  fi
}

# garage_call METHOD PATH [JSON]: calls the admin API and sets GARAGE_STATUS (the HTTP status) and
# GARAGE_RESPONSE (the body). Fails only when the store cannot be reached at all.
garage_call() {
  local method=$1 path=$2 body=${3-} out
  garage_auth_header
  out=$(mktemp)
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H "@$GARAGE_AUTH_HEADER")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  GARAGE_STATUS=$(curl "${args[@]}" "$GARAGE_ADMIN_URL$path") || {
    rm -f "$out"
    die "the store's admin API at $GARAGE_ADMIN_URL cannot be reached ($method $path)"
  }
  GARAGE_RESPONSE=$(cat "$out")
  rm -f "$out"
}

# garage_api METHOD PATH [JSON]: as garage_call, and fails on any status but 200, with the store's message.
garage_api() {
  garage_call "$@"
  [ "$GARAGE_STATUS" = 200 ] || die "$1 $2 answered $GARAGE_STATUS: $GARAGE_RESPONSE"
}

# garage_wait HOW: waits until the store's health check answers (it may still be starting), at
# most GARAGE_WAIT_SECONDS (120 by default). HOW `healthy`: with 200, which needs a layout that
# gives the node a role; `answering`: with anything (503 before the layout exists).
garage_wait() {
  local how=$1 waited=0 limit=${GARAGE_WAIT_SECONDS:-120} check=(curl -sS -o /dev/null)
  [ "$how" = answering ] || check+=(-f)
  until "${check[@]}" "$GARAGE_ADMIN_URL/health" 2>/dev/null; do
    [ "$waited" -lt "$limit" ] || die "the store at $GARAGE_ADMIN_URL is not $how after ${limit}s"
    sleep 2
    waited=$((waited + 2))
  done
}
