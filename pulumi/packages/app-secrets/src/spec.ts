/**
 * The secrets an app's data depends on (encryption keys, an admin token its users were given):
 * what each one is, so it can be generated once and kept, encrypted, in `secrets/apps/<app>.yaml`.
 * Values are never derived from the server, so the app reads the same ones on every server.
 */

/** Random characters from an alphabet. */
export interface RandomString {
  kind: "string";
  length: number;
  alphabet: "alphanumeric" | "hex";
}

/** Random bytes, encoded. */
export interface RandomBytes {
  kind: "bytes";
  bytes: number;
  encoding: "base64" | "base64url" | "hex";
}

/** The argon2id PHC string of another secret of the same app (for apps that store only a hash). */
export interface Argon2idHash {
  kind: "argon2id";
  /** The key of the secret hashed. */
  of: string;
}

/**
 * A value the operator brings rather than one generated (a storage key made at the provider):
 * `task app:secrets` takes it from a file and keeps it like the others.
 */
export interface Provided {
  kind: "provided";
  /** What it is and where it comes from, for the tool's message when it is missing. */
  description: string;
  /** The variable of `task app:secrets` / `task backup:secrets` that names the file holding it. */
  variable: string;
}

export type SecretGenerator = RandomString | RandomBytes | Argon2idHash | Provided;

/** An app's secrets: key (letters and digits, as in `secrets/apps/<app>.yaml`) → how it is made. */
export type AppSecretsSpec = Readonly<Record<string, SecretGenerator>>;

/**
 * `length` random characters: letters and digits by default (~5.95 bits each), or lower-case hex.
 * @default alphabet "alphanumeric"
 */
export function randomString(
  length: number,
  alphabet: RandomString["alphabet"] = "alphanumeric",
): RandomString {
  return { kind: "string", length, alphabet };
}

/**
 * `bytes` random bytes, base64 by default.
 * @default encoding "base64"
 */
export function randomBytes(bytes: number, encoding: RandomBytes["encoding"] = "base64"): RandomBytes {
  return { kind: "bytes", bytes, encoding };
}

/** A value the operator provides (`description` says what it is) through a task's `variable`, never generated. */
export function provided(description: string, variable: string): Provided {
  return { kind: "provided", description, variable };
}

/** The argon2id hash (PHC string, OWASP's parameters or stronger) of the secret `of`. */
export function argon2idHash(of: string): Argon2idHash {
  return { kind: "argon2id", of };
}

const keyPattern = /^[A-Za-z][A-Za-z0-9]*$/;

/** Fails on a spec that cannot be generated: bad keys, sizes, or a hash of a secret it lacks. */
export function checkSpec(app: string, spec: AppSecretsSpec): void {
  for (const [key, generator] of Object.entries(spec)) {
    const where = `Secret "${key}" of app ${app}`;
    if (!keyPattern.test(key))
      throw new Error(`${where}: keys are letters and digits, starting with a letter`);
    if (generator.kind === "string" && !(Number.isInteger(generator.length) && generator.length >= 16)) {
      throw new Error(`${where}: at least 16 characters`);
    }
    if (generator.kind === "bytes" && !(Number.isInteger(generator.bytes) && generator.bytes >= 16)) {
      throw new Error(`${where}: at least 16 bytes`);
    }
    if (
      generator.kind === "argon2id" &&
      spec[generator.of]?.kind !== "string" &&
      spec[generator.of]?.kind !== "bytes"
    ) {
      throw new Error(`${where}: hashes "${generator.of}", which is not a random secret of the app`);
    }
  }
}
