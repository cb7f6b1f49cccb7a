import { createDatabaseServerProject } from "@projects/common";

/** The stack's mariadb server: what apps need to get their own database on it, and its backups. */
export const { server, backups } = createDatabaseServerProject("mariadb");
