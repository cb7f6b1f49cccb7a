import { createVaultwarden, vaultwardenConfig, vaultwardenSecretKeys } from "@apps/vaultwarden";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const vaultwarden = whenPlaced(() =>
  createVaultwarden(readAppConfig(vaultwardenConfig, vaultwardenSecretKeys)),
);

/** Where the tailnet reaches it. */
export const url = vaultwarden?.url;
/** The admin page's token: `pulumi stack output adminToken --show-secrets`. */
export const adminToken = vaultwarden?.adminToken;
/** Its backups (volume and database, one repository), for `task backup:status`. */
export const backups = vaultwarden?.backups;
