# shellcheck shell=bash
# Logging and settings shared by the PostgreSQL, MariaDB and MySQL libraries (sourced, never run).

# The comment of a database that its app backs up itself (with its volumes, in its own repository):
# *-create-database.sh sets it with APP_DATABASE_BACKUP=app, and the server's own backup
# (DB_DATABASES=all) leaves such a database out. Roles and accounts stay in the server's backup.
# shellcheck disable=SC2034 # used by the scripts that source this file
APP_BACKUP_COMMENT='homelab: backed up by its app'

# The app-database mode: DB_DATABASES names the databases (not "all"), and the hooks run with the
# app's own account, which owns them and can create nothing else.
app_database_mode() {
  [ "${DB_DATABASES:-all}" != all ]
}

# answer_presence COUNT WHAT DATABASES: prints "present" or "absent" for RESTORE_PRESENT_HOOK.
# COUNT DB prints how many objects of its own (WHAT: "tables", "relations") DB holds, 0 for a
# database that does not exist; DATABASES is one name per line. An app's databases are one part
# of its data: all hold data or none does, anything else is fatal. On a server any one is enough.
answer_presence() {
  local count=$1 what=$2 databases=$3 db objects with=() without=()
  while IFS= read -r db; do
    [ -n "$db" ] || continue
    objects=$("$count" "$db")
    if [ "$objects" -gt 0 ]; then
      log "database $db has $objects $what: data present"
      with+=("$db")
      app_database_mode || break
    else
      log "database $db holds no data"
      without+=("$db")
    fi
  done <<<"$databases"
  if app_database_mode && [ ${#with[@]} -gt 0 ] && [ ${#without[@]} -gt 0 ]; then
    die "databases ${with[*]} hold data, ${without[*]} none: only part of the app's data is there"
  fi
  if [ ${#with[@]} -gt 0 ]; then
    echo present
  else
    log "no database holds data"
    echo absent
  fi
}

# The settings of an app's database job (*-create-database.sh): fails naming a missing one, and
# prints APP_DATABASE_BACKUP ("server", the default, or "app").
app_database_backup() {
  local name backup=${APP_DATABASE_BACKUP:-server}
  for name in DB_ADMIN_PASSWORD APP_DATABASE APP_USER APP_PASSWORD; do
    [ -n "${!name:-}" ] || die "$name is not set"
  done
  case "$backup" in
    server | app) printf '%s\n' "$backup" ;;
    *) die "APP_DATABASE_BACKUP must be 'server' or 'app', got '$backup'" ;;
  esac
}

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# timed DESCRIPTION COMMAND [ARG...]: logs the command's start, end and duration; errexit stays on
# inside shell functions (see restic/scripts/common.sh).
timed() {
  local what=$1 started=$SECONDS rc=0
  shift
  log "start: $what"
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    log "FAILED: $what (exit $rc after $((SECONDS - started))s)"
    return "$rc"
  fi
  log "done: $what ($((SECONDS - started))s)"
}
