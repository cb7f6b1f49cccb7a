#!/usr/bin/env bash
# Gives an app its own database and login role on the PostgreSQL server, idempotently: creates the
# role and the database when missing, sets the role's password, makes it the database's owner and
# lets no other role connect; marks the database as backed up by its app, or not. Run by the app's
# database job as the server's superuser.
#   DB_HOST, DB_PORT, DB_USER   the server and its superuser (as for the hooks)
#   DB_ADMIN_PASSWORD           the superuser's password
#   APP_DATABASE, APP_USER      the database and role (any text: they are quoted)
#   APP_PASSWORD                the role's password
#   APP_DATABASE_BACKUP         "server" (default): in the server's backup; "app": the app backs it
#                               up itself, the server's backup leaves it out
set -euo pipefail

SCRIPT_NAME=postgresql-create-database
# shellcheck source=postgresql-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql-lib.sh"

# psql quotes the variables itself (:'x' as a literal, :"x" as an identifier) and reads the
# password from the environment, so it never appears on a command line.
readonly CREATE_SQL="\\getenv app_database APP_DATABASE
\\getenv app_user APP_USER
\\getenv app_password APP_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \\gexec
ALTER ROLE :\"app_user\" WITH LOGIN PASSWORD :'app_password';
SELECT format('CREATE DATABASE %I OWNER %I', :'app_database', :'app_user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_database') \\gexec
ALTER DATABASE :\"app_database\" OWNER TO :\"app_user\";
REVOKE ALL ON DATABASE :\"app_database\" FROM PUBLIC;
GRANT ALL ON DATABASE :\"app_database\" TO :\"app_user\";"

# The comment that leaves the database out of the server's backup: set, or removed when it is set
# (any other comment stays).
readonly MARK_SQL="\\getenv app_database APP_DATABASE
COMMENT ON DATABASE :\"app_database\" IS :'app_backup';"
readonly UNMARK_SQL="\\getenv app_database APP_DATABASE
SELECT format('COMMENT ON DATABASE %I IS NULL', datname) FROM pg_database
  WHERE datname = :'app_database' AND shobj_description(oid, 'pg_database') = :'app_backup' \\gexec"

main() {
  local backup
  backup=$(app_database_backup)
  unset DB_PASSWORD_FILE DB_DATABASES
  pg_connect_from_env
  export PGPASSWORD="$DB_ADMIN_PASSWORD"
  timed "database $APP_DATABASE for role $APP_USER" pg_query <<<"$CREATE_SQL"
  if [ "$backup" = app ]; then
    timed "mark database $APP_DATABASE as backed up by its app" \
      pg_query --set app_backup="$APP_BACKUP_COMMENT" <<<"$MARK_SQL"
  else
    timed "database $APP_DATABASE in the server's backup" \
      pg_query --set app_backup="$APP_BACKUP_COMMENT" <<<"$UNMARK_SQL"
  fi
}

main "$@"
