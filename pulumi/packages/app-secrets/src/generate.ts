import { randomBytes as cryptoRandomBytes, randomInt } from "node:crypto";
import { argon2id } from "@noble/hashes/argon2.js";
import { type AppSecretsSpec, checkSpec, type RandomBytes, type RandomString } from "./spec";

const alphabets: Record<RandomString["alphabet"], string> = {
  alphanumeric: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
  hex: "0123456789abcdef",
};

function randomString(generator: RandomString): string {
  const alphabet = alphabets[generator.alphabet];
  // randomInt draws without modulo bias.
  return Array.from({ length: generator.length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

function randomBytes(generator: RandomBytes): string {
  return cryptoRandomBytes(generator.bytes).toString(generator.encoding);
}

/** argon2id parameters: Bitwarden's defaults, above OWASP's minimum (m=19456, t=2, p=1). */
export const argon2idParameters = { m: 65540, t: 3, p: 4 } as const;

const unpadded = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");

/** The PHC string of argon2id over `secret`, with a random 16-byte salt. */
export function argon2idPhc(secret: string, salt: Uint8Array = cryptoRandomBytes(16)): string {
  const { m, t, p } = argon2idParameters;
  const hash = argon2id(new TextEncoder().encode(secret), salt, { m, t, p, dkLen: 32 });
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${unpadded(salt)}$${unpadded(hash)}`;
}

/** What generating an app's secrets gave: every value, and which keys are new. */
export interface GeneratedSecrets {
  values: Record<string, string>;
  added: string[];
}

/**
 * Completes an app's secrets: keeps every existing value as it is (an app's data depends on them)
 * and generates the keys the spec has and `existing` lacks. A hash is made of the value it hashes,
 * whether that one is new or kept.
 */
export function generateAppSecrets(
  app: string,
  spec: AppSecretsSpec,
  existing: Readonly<Record<string, string>> = {},
): GeneratedSecrets {
  checkSpec(app, spec);
  const values: Record<string, string> = { ...existing };
  const added: string[] = [];
  const missing = Object.entries(spec).filter(([key]) => values[key] === undefined);
  // Random values first: hashes are made of them.
  for (const [key, generator] of missing) {
    if (generator.kind === "argon2id") continue;
    values[key] = generator.kind === "string" ? randomString(generator) : randomBytes(generator);
    added.push(key);
  }
  for (const [key, generator] of missing) {
    if (generator.kind !== "argon2id") continue;
    const secret = values[generator.of];
    if (secret === undefined) throw new Error(`Secret "${key}" of app ${app}: "${generator.of}" is missing`);
    values[key] = argon2idPhc(secret);
    added.push(key);
  }
  return { values, added };
}
