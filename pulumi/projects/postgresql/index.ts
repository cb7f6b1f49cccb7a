import { createDatabaseServerProject } from "@projects/common";

/** The stack's postgresql server: what apps need to get their own database on it, and its backups. */
export const { server, backups } = createDatabaseServerProject("postgresql");
