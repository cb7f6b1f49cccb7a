import { randomString } from "@infra/app-secrets";

/**
 * What n8n's data depends on, the same on every server: the key it encrypts every stored
 * credential with (losing it makes them all unreadable).
 */
export const secrets = {
  encryptionKey: randomString(48),
};
