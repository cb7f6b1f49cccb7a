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

/** What generating an app's secrets gave: every value, which keys are new, and which it could not make. */
export interface GeneratedSecrets {
  values: Record<string, string>;
  added: string[];
  /** Provided keys neither `existing` nor `provided` has: the operator brings them later. */
  missing: string[];
}

/**
 * Completes an app's secrets: keeps every existing value as it is (an app's data depends on them)
 * and generates the keys the spec has and `existing` lacks. A hash is made of the value it hashes,
 * whether that one is new or kept. Provided keys are never generated: they come from `provided`
 * (which replaces a kept value: a storage key may be rotated, unlike what encrypts data).
 */
export function generateAppSecrets(
  app: string,
  spec: AppSecretsSpec,
  existing: Readonly<Record<string, string>> = {},
  provided: Readonly<Record<string, string>> = {},
): GeneratedSecrets {
  checkSpec(app, spec);
  for (const key of Object.keys(provided)) {
    if (spec[key]?.kind !== "provided") {
      throw new Error(`Secret "${key}" of app ${app} is not one the operator provides; it is generated`);
    }
  }
  const values: Record<string, string> = { ...existing, ...provided };
  const added: string[] = Object.keys(provided).filter((key) => existing[key] === undefined);
  const absent = Object.entries(spec).filter(([key]) => values[key] === undefined);
  const missing: string[] = [];
  // Random values first: hashes are made of them.
  for (const [key, generator] of absent) {
    if (generator.kind === "argon2id") continue;
    if (generator.kind === "provided") {
      missing.push(key);
      continue;
    }
    values[key] = generator.kind === "string" ? randomString(generator) : randomBytes(generator);
    added.push(key);
  }
  for (const [key, generator] of absent) {
    if (generator.kind !== "argon2id") continue;
    const secret = values[generator.of];
    if (secret === undefined) throw new Error(`Secret "${key}" of app ${app}: "${generator.of}" is missing`);
    values[key] = argon2idPhc(secret);
    added.push(key);
  }
  return { values, added, missing };
}
