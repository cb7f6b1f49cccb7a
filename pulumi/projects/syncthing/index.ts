import { createSyncthing, syncthingConfig } from "@apps/syncthing";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const syncthing = whenPlaced(() => createSyncthing(readAppConfig(syncthingConfig).settings));

/** The GUI, for the tailnet. */
export const url = syncthing?.url;
/** What a device enters as this device's addresses (Edit Device → Advanced → Addresses). */
export const syncAddresses = syncthing?.syncAddresses;
/** The GUI's user and password: `pulumi stack output guiPassword --show-secrets`. */
export const guiUser = syncthing?.guiUser;
export const guiPassword = syncthing?.guiPassword;
/** Its backups (the /var/syncthing volume, one repository), for `task backup:status`. */
export const backups = syncthing?.backups;
