# shellcheck shell=bash
# Shared by the MariaDB scripts (sourced, never run): what MariaDB does differently from MySQL.
# What they share is in mysql-family-lib.sh; the interface in pulumi/packages/restic/scripts/README.md.

# shellcheck disable=SC2034 # used by mysql-family-lib.sh
ENGINE_NAME=MariaDB CLIENT_PROGRAM=mariadb DUMP_PROGRAM=mariadb-dump ADMIN_PROGRAM=mariadb-admin \
  SERVER_PROGRAM=mariadbd

# shellcheck source=mysql-family-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mysql-family-lib.sh"

# The accounts as `CREATE USER IF NOT EXISTS` (a missing account comes back with its password
# hash; an existing one is left as it is) with their grants and roles. Leaves out the accounts
# every server creates for itself (restoring root's PROXY grant needs privileges an admin account
# may lack), and drops IDENTIFIED BY PASSWORD from GRANTs: it would reset the password of an
# account that exists on the restoring server.
dump_accounts() {
  db_dump --system=users --insert-ignore |
    sed -E -e "/[\`'](root|mariadb\.sys)[\`']@/d" \
      -e "/^GRANT /s/ IDENTIFIED BY PASSWORD '[^']*'//"
}

# The mark of a database its app backs up itself is the database's comment.
app_backed_up_databases() {
  db_query --raw -e "SELECT schema_name FROM information_schema.schemata
    WHERE schema_comment = $(sql_string "$APP_BACKUP_COMMENT") ORDER BY schema_name"
}

# mark_backed_up_by_app DATABASE app|server: sets the comment, or removes it when it is the mark
# (any other comment stays).
mark_backed_up_by_app() {
  local database current
  database=$(sql_identifier "$1")
  if [ "$2" = app ]; then
    timed "mark database $1 as backed up by its app" \
      db_query -e "ALTER DATABASE $database COMMENT = $(sql_string "$APP_BACKUP_COMMENT")"
    return
  fi
  current=$(db_query --raw -e "SELECT schema_comment FROM information_schema.schemata
    WHERE schema_name = $(sql_string "$1")")
  if [ "$current" = "$APP_BACKUP_COMMENT" ]; then
    timed "unmark database $1: back in the server's backup" db_query -e "ALTER DATABASE $database COMMENT = ''"
  fi
}
