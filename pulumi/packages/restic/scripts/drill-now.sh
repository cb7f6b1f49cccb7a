#!/usr/bin/env bash
# Behind `task backup:drill APP=<app> STACK=<stack>`, on the operator's machine: runs the app's
# restore drill now, as a job from its drill CronJob (`<app>-drill`, in whatever namespace holds
# it), waits for it, prints its log and exits with its outcome. The drill itself is drill.sh's.
#   drill-now.sh STACK APP
#   KUBE_CONTEXT     the server's kube context (default: the shared project's server.kubeContext,
#                    else the stack's name)
#   TIMEOUT_SECONDS  how long to wait (default 6 hours and 10 minutes, the job's deadline and more)
# Exit code: 0 the drill passed; 1 it failed or could not be started; 2 bad usage.
set -euo pipefail

log() {
  printf '%s drill-now[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${APP:-?}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

STACK=${1:-}
APP=${2:-}
if [ -z "$STACK" ] || [ -z "$APP" ]; then
  echo "usage: drill-now.sh STACK APP" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
context=${KUBE_CONTEXT:-}
if [ -z "$context" ]; then
  context=$(pulumi stack output server --json --stack "$STACK" --cwd "$root/pulumi/projects/shared" 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>{try{console.log(JSON.parse(s).kubeContext??"")}catch{console.log("")}})') || true
  context=${context:-$STACK}
fi
cronjob="$APP-drill"
namespaces=$(kubectl --context "$context" get cronjobs --all-namespaces --field-selector "metadata.name=$cronjob" \
  -o jsonpath='{range .items[*]}{.metadata.namespace}{"\n"}{end}')
case "$(printf '%s' "$namespaces" | grep -c .)" in
  1) namespace=$namespaces ;;
  0) die "no cronjob $cronjob on $context: is $APP deployed on $STACK, with backups?" ;;
  *) die "cronjob $cronjob exists in several namespaces (${namespaces//$'\n'/, }) of $context" ;;
esac
kubectl=(kubectl --context "$context" --namespace "$namespace")

job="$cronjob-now-$(date -u +%Y%m%d%H%M%S)"
log "starting job $job from cronjob/$cronjob in namespace $namespace"
"${kubectl[@]}" create job "$job" --from="cronjob/$cronjob" >&2
deadline=$((SECONDS + ${TIMEOUT_SECONDS:-22800}))
errors=0
while :; do
  if conditions=$("${kubectl[@]}" get "job/$job" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}'); then
    errors=0
  else
    errors=$((errors + 1))
    [ "$errors" -lt 6 ] || die "cannot read job/$job"
    conditions=""
  fi
  case " $conditions " in
    *" Complete "*)
      "${kubectl[@]}" logs "job/$job" --all-containers >&2 || true
      log "drill passed (job $job)"
      exit 0
      ;;
    *" Failed "*)
      "${kubectl[@]}" logs "job/$job" --all-containers >&2 || true
      die "drill failed (job $job): its log above names the failing step"
      ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || die "job $job did not finish in time; it may still run: kubectl --context $context -n $namespace logs -f job/$job"
  sleep 10
done
