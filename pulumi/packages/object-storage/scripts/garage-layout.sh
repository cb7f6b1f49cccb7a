#!/usr/bin/env bash
# Gives the store's single node its role (zone GARAGE_ZONE, capacity GARAGE_CAPACITY_BYTES) and
# applies that layout, once: a store whose layout already holds its node is left as it is. A
# layout that holds another node (the node key was lost, the metadata was not restored) is an
# error: assigning a new node would make every object unreadable until a human repairs it.
set -euo pipefail

SCRIPT_NAME=garage-layout
# shellcheck source=garage-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/garage-lib.sh"

main() {
  require_env GARAGE_ZONE GARAGE_CAPACITY_BYTES
  # Not healthy before it has a layout: that is what this job gives it.
  garage_wait answering
  garage_api GET "/v2/GetNodeInfo?node=self"
  local node
  node=$(jq -r '.success | keys[0] // empty' <<<"$GARAGE_RESPONSE")
  [ -n "$node" ] || die "the store did not say which node it is: $GARAGE_RESPONSE"
  garage_api GET /v2/GetClusterLayout
  local roles version
  roles=$(jq -r '[.roles[].id] | join(" ")' <<<"$GARAGE_RESPONSE")
  version=$(jq -r '.version' <<<"$GARAGE_RESPONSE")
  if [ "$roles" = "$node" ]; then
    log "node $node already has its role (layout version $version): nothing to do"
    return
  fi
  [ -z "$roles" ] || die "the layout (version $version) holds node(s) $roles, not this node $node: restore the store's metadata (its node key) or repair the layout by hand (garage layout)"
  log "assigning node $node to zone $GARAGE_ZONE with $GARAGE_CAPACITY_BYTES bytes"
  garage_api POST /v2/UpdateClusterLayout "$(jq -cn --arg id "$node" --arg zone "$GARAGE_ZONE" \
    --argjson capacity "$GARAGE_CAPACITY_BYTES" '{roles: [{id: $id, zone: $zone, capacity: $capacity, tags: []}]}')"
  garage_api POST /v2/ApplyClusterLayout "$(jq -cn --argjson version "$((version + 1))" '{version: $version}')"
  log "layout version $((version + 1)) applied"
}

main "$@"
