#!/usr/bin/env bash
# Gives an app its buckets and its key on the store, idempotently: imports the key (KEY_ID,
# KEY_SECRET, named KEY_NAME) unless the store has it, creates each bucket of BUCKETS (global
# aliases, space-separated) unless it exists, allows the key to read and write each (never to own
# it), and sets each bucket's CORS to CORS_ORIGINS (space-separated; none: no CORS). Setting CORS
# is an S3 call only a bucket's owner may make: the key owns the bucket for that call only.
#
# S3_URL     the store's S3 API inside the cluster, e.g. http://garage.object-storage.svc.cluster.local:3900
# S3_REGION  the store's region (its s3_region)
set -euo pipefail

SCRIPT_NAME=garage-bucket
# shellcheck source=garage-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/garage-lib.sh"

ensure_key() {
  garage_call GET "/v2/GetKeyInfo?id=$KEY_ID&showSecretKey=true"
  case "$GARAGE_STATUS" in
    200)
      [ "$(jq -r '.secretAccessKey' <<<"$GARAGE_RESPONSE")" = "$KEY_SECRET" ] ||
        die "the store has key $KEY_ID with another secret: it was not made by this job; delete it in the store (garage key delete) or give the app another key"
      log "key $KEY_ID ($KEY_NAME) exists"
      ;;
    404)
      garage_api POST /v2/ImportKey "$(jq -cn --arg id "$KEY_ID" --arg secret "$KEY_SECRET" --arg name "$KEY_NAME" \
        '{accessKeyId: $id, secretAccessKey: $secret, name: $name}')"
      log "key $KEY_ID ($KEY_NAME) imported"
      ;;
    *) die "GetKeyInfo of $KEY_ID answered $GARAGE_STATUS: $GARAGE_RESPONSE" ;;
  esac
}

# Prints the id of bucket $1, creating it when the store has none of that name.
ensure_bucket() {
  local name=$1
  garage_call GET "/v2/GetBucketInfo?globalAlias=$name"
  case "$GARAGE_STATUS" in
    200) log "bucket $name exists" ;;
    404)
      garage_api POST /v2/CreateBucket "$(jq -cn --arg name "$name" '{globalAlias: $name}')"
      log "bucket $name created"
      ;;
    *) die "GetBucketInfo of $name answered $GARAGE_STATUS: $GARAGE_RESPONSE" ;;
  esac
  jq -r '.id' <<<"$GARAGE_RESPONSE"
}

# permission ENDPOINT BUCKET_ID READ WRITE OWNER: AllowBucketKey or DenyBucketKey for the app's key.
permission() {
  garage_api POST "/v2/$1" "$(jq -cn --arg bucket "$2" --arg key "$KEY_ID" \
    --argjson read "$3" --argjson write "$4" --argjson owner "$5" \
    '{bucketId: $bucket, accessKeyId: $key, permissions: {read: $read, write: $write, owner: $owner}}')"
}

cors_document() {
  local origin
  printf '<CORSConfiguration><CORSRule>'
  for origin in $CORS_ORIGINS; do printf '<AllowedOrigin>%s</AllowedOrigin>' "$origin"; done
  printf '<AllowedMethod>%s</AllowedMethod>' GET PUT POST HEAD DELETE
  printf '<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>'
  printf '<MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>'
}

# An S3 request signed (SigV4) with the app's key, read by curl from a netrc file.
s3_request() {
  local method=$1 bucket=$2 document=${3-} netrc status out
  netrc=$(mktemp)
  out=$(mktemp)
  printf 'machine %s login %s password %s\n' "$(s3_host)" "$KEY_ID" "$KEY_SECRET" >"$netrc"
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" --netrc-file "$netrc" --aws-sigv4 "aws:amz:$S3_REGION:s3")
  args+=(-H "x-amz-content-sha256: $(sha256sum "${document:-/dev/null}" | cut -d' ' -f1)")
  if [ -n "$document" ]; then
    args+=(-H 'Content-Type: application/xml' -H "Content-MD5: $(content_md5 "$document")" --data-binary @"$document")
  fi
  status=$(curl "${args[@]}" "$S3_URL/$bucket?cors=") || status=unreachable
  rm -f "$netrc"
  case "$status" in
    200 | 204) rm -f "$out" ;;
    *)
      log "$method $bucket?cors answered $status: $(cat "$out")"
      rm -f "$out"
      return 1
      ;;
  esac
}

s3_host() {
  local host=${S3_URL#*://}
  host=${host%%/*}
  printf '%s\n' "${host%%:*}"
}

# The base64 of the document's binary MD5 digest, which S3 asks for with a CORS configuration.
content_md5() {
  local hex escaped="" i
  hex=$(md5sum "$1" | cut -d' ' -f1)
  for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
  printf '%b' "$escaped" | base64
}

set_cors() {
  local bucket=$1 id=$2 document rc=0
  permission AllowBucketKey "$id" false false true
  if [ -n "${CORS_ORIGINS// /}" ]; then
    document=$(mktemp)
    cors_document >"$document"
    s3_request PUT "$bucket" "$document" || rc=$?
    rm -f "$document"
    [ "$rc" -eq 0 ] && log "bucket $bucket: CORS for $CORS_ORIGINS"
  else
    s3_request DELETE "$bucket" || rc=$?
    [ "$rc" -eq 0 ] && log "bucket $bucket: no CORS"
  fi
  # The key owns the bucket only for that call, whatever its outcome.
  permission DenyBucketKey "$id" false false true
  [ "$rc" -eq 0 ] || die "the CORS of bucket $bucket could not be set"
}

main() {
  require_env KEY_ID KEY_SECRET KEY_NAME BUCKETS S3_URL S3_REGION
  garage_wait healthy
  ensure_key
  local bucket id
  for bucket in $BUCKETS; do
    id=$(ensure_bucket "$bucket")
    permission AllowBucketKey "$id" true true false
    set_cors "$bucket" "$id"
    log "bucket $bucket: key $KEY_ID reads and writes it"
  done
}

main "$@"
