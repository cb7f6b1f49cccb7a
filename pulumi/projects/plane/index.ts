import { createPlane, planeConfig } from "@apps/plane";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const plane = whenPlaced(() => createPlane(readAppConfig(planeConfig)));

/** Where the tailnet reaches Plane; its instance admin is `<url>/god-mode/`. */
export const url = plane?.url;
/** Its backups (the database, one repository), for `task backup:status`. */
export const backups = plane?.backups;
