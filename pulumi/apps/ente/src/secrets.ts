import { randomBytes } from "@infra/app-secrets";

/**
 * What Ente's data depends on, the same on every server: museum's `key.encryption` (32 bytes,
 * standard base64: it encrypts the users' e-mail addresses and 2FA secrets in the database),
 * `key.hash` (64 bytes, standard base64: the key of the e-mail hashes it looks users up by) and
 * `jwt.secret` (32 bytes, URL-safe base64: it signs the tokens of public links), the sizes and
 * encodings of Ente's own generator (server/tools/gen-random-keys/main.go). Losing the first two
 * makes every account unreachable.
 */
export const secrets = {
  keyEncryption: randomBytes(32),
  keyHash: randomBytes(64),
  jwtSecret: randomBytes(32, "base64url"),
};
