import { createZitadel, zitadelConfig } from "@apps/zitadel";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const zitadel = whenPlaced(() => createZitadel(readAppConfig(zitadelConfig)));

/** Where the internet reaches it: the console at `<url>/ui/console`, the login UI at `<url>/ui/v2/login`. */
export const url = zitadel?.url;
/** The first admin's login name. */
export const adminLoginName = zitadel?.adminLoginName;
/** The first admin's password, for the first login: `pulumi stack output adminPassword --show-secrets`. */
export const adminPassword = zitadel?.adminPassword;
/** Its backups (the login client's token and the database, one repository), for `task backup:status`. */
export const backups = zitadel?.backups;
