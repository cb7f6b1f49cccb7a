import { randomString } from "@infra/app-secrets";

/**
 * What Zitadel's data depends on, the same on every server: the masterkey it encrypts its keys
 * and secrets in the database with (exactly 32 characters; losing it loses all of them), and the
 * first admin's password, given once when the first instance is set up.
 */
export const secrets = {
  masterkey: randomString(32),
  adminPassword: randomString(32),
};
