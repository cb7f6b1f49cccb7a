#!/usr/bin/env bash
# Run by Pulumi on the operator's machine (the delete of an app's final-backup Command) when the
# app is destroyed: after its workload has stopped and before its volume and secrets go. Starts a
# job from the app's final-backup CronJob (a template that never runs on its own: backup.sh with
# BACKUP_REASON=final) and waits for it. A failed or unfinished backup fails the destroy, so the
# volume is kept.
#   KUBE_CONTEXT, NAMESPACE   the cluster's kube context and the app's namespace
#   CRONJOB                   the final-backup CronJob
#   SCHEDULED_CRONJOB         the scheduled backup CronJob: a run in progress is waited for
#   APP                       the app (messages, SKIP_FINAL_BACKUP)
#   TIMEOUT_SECONDS           how long to wait for the job (default 6 hours)
#   POLL_SECONDS              how often to look at it (default 10)
#   SKIP_FINAL_BACKUP         the operator's way out, comma-separated app names or "all": no final
#                             backup, and what was written since the last backup is lost
set -euo pipefail

log() {
  printf '%s final-backup[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${APP:-?}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

for name in KUBE_CONTEXT NAMESPACE CRONJOB SCHEDULED_CRONJOB APP; do
  [ -n "${!name:-}" ] || die "$name is not set"
done

case ",${SKIP_FINAL_BACKUP:-}," in
  *",$APP,"* | *",all,"*)
    log "SKIP_FINAL_BACKUP=$SKIP_FINAL_BACKUP: no final backup; what was written since the last backup is lost"
    exit 0
    ;;
esac

kubectl=(kubectl --context "$KUBE_CONTEXT" --namespace "$NAMESPACE")
deadline=$((SECONDS + ${TIMEOUT_SECONDS:-21600}))
errors=0
field=""

# read_field KIND/NAME JSONPATH: sets $field to the field's value, or to "?" when kubectl fails; a
# few failures in a row are tolerated (the API server may be busy), more are fatal.
read_field() {
  if field=$("${kubectl[@]}" get "$1" -o "jsonpath=$2"); then
    errors=0
  else
    errors=$((errors + 1))
    [ "$errors" -lt 6 ] || die "cannot read $1"
    field="?"
  fi
}

wait_a_little() {
  [ "$SECONDS" -lt "$deadline" ] || die "$1 did not finish in time: the volume is kept"
  sleep "${POLL_SECONDS:-10}"
}

# A scheduled backup in progress holds the repository's lock: the final backup starts after it.
while read_field "cronjob/$SCHEDULED_CRONJOB" '{.status.active}' && [ -n "$field" ]; do
  log "waiting for the scheduled backup in progress"
  wait_a_little "the scheduled backup"
done

job="$CRONJOB-$(date -u +%Y%m%d%H%M%S)"
log "starting job $job from cronjob/$CRONJOB"
"${kubectl[@]}" create job "$job" --from="cronjob/$CRONJOB" >&2

show_logs() {
  "${kubectl[@]}" logs "job/$job" --all-containers >&2 || true
}

while :; do
  # "Complete" and "Failed" are final; newer clusters set SuccessCriteriaMet/FailureTarget first.
  read_field "job/$job" '{.status.conditions[?(@.status=="True")].type}'
  case " $field " in
    *" Complete "*)
      show_logs
      log "final backup done (job $job)"
      exit 0
      ;;
    *" Failed "*)
      show_logs
      die "final backup job $job failed: the volume is kept; fix the cause and destroy again"
      ;;
  esac
  wait_a_little "final backup job $job"
done
