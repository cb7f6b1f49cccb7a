import { createEtebase, etebaseConfig } from "@apps/etebase";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const etebase = whenPlaced(() => createEtebase(readAppConfig(etebaseConfig)));

/** Where the tailnet reaches it; the EteSync apps take it as their custom server. */
export const url = etebase?.url;
/** The first superuser of `/admin`: `pulumi stack output superuser --show-secrets`. */
export const superuser = etebase?.superuser;
/** Its backups (volume and database, one repository), for `task backup:status`. */
export const backups = etebase?.backups;
