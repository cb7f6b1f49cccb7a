import { createGhost, ghostConfig, ghostSecretKeys } from "@apps/ghost";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const ghost = whenPlaced(() => createGhost(readAppConfig(ghostConfig, ghostSecretKeys)));

/** The blog, on the internet through Cloudflare. */
export const url = ghost?.url;
/** Where staff sign in: the tailnet-only admin hostname unless `ghost:admin.exposure` is `public`. */
export const adminUrl = ghost?.adminUrl;
/** Its backups (content volume and database, one repository), for `task backup:status`. */
export const backups = ghost?.backups;
