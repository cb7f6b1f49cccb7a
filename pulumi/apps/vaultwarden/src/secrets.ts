import { argon2idHash, randomString } from "@infra/app-secrets";

/**
 * What vaultwarden's data and users depend on, the same on every server: the admin page's token
 * (given to the operator) and its argon2id hash, which is all vaultwarden is told.
 */
export const secrets = {
  adminToken: randomString(48),
  adminTokenHash: argon2idHash("adminToken"),
};
