import { createEnte, enteConfig, enteSecretKeys } from "@apps/ente";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const ente = whenPlaced(() => createEnte(readAppConfig(enteConfig, enteSecretKeys)));

/** The photos web app, in the tailnet. */
export const url = ente?.url;
/** Museum, the server endpoint to give the mobile and desktop apps (tap their onboarding screen 7 times). */
export const apiUrl = ente?.apiUrl;
/** The web apps (photos, accounts, albums, auth, cast), by name. */
export const webUrls = ente?.webUrls;
/** The bucket of the users' files (end-to-end encrypted) in the platform's object store. */
export const bucket = ente?.bucket;
/** Its backups (the database, one repository), for `task backup:status`. */
export const backups = ente?.backups;
