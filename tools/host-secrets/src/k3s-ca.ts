import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import {
  bitString,
  booleanTrue,
  explicit,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der";

/**
 * The certificate authorities k3s reads from `/var/lib/rancher/k3s/server/tls` on first start instead of
 * generating its own, with the common name prefix k3s itself gives each one. Keeping these (and the
 * service-account key) lets a reinstalled server keep its cluster identity: kubeconfigs and
 * service-account tokens stay valid.
 */
export const K3S_CAS = [
  { file: "server-ca", commonName: "k3s-server-ca" },
  { file: "client-ca", commonName: "k3s-client-ca" },
  { file: "request-header-ca", commonName: "k3s-request-header-ca" },
  { file: "etcd/server-ca", commonName: "etcd-server-ca" },
  { file: "etcd/peer-ca", commonName: "etcd-peer-ca" },
] as const;

/** The service-account signing key, also in the tls directory. */
export const K3S_SERVICE_ACCOUNT_KEY_FILE = "service.key";

/** Every file of the set, relative to the k3s tls directory. */
export const K3S_TLS_FILES: readonly string[] = [
  ...K3S_CAS.flatMap(({ file }) => [`${file}.crt`, `${file}.key`]),
  K3S_SERVICE_ACCOUNT_KEY_FILE,
];

export interface K3sCaOptions {
  /** When the certificates are made; defaults to now. */
  now?: Date;
  /** Lifetime of each CA; k3s's own CAs last ten years. */
  validityDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Tolerates a server clock that runs a little behind the machine that made the certificates.
const BACKDATE_MS = 60 * 60 * 1000;

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
};

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(objectIdentifier(oid), booleanTrue(), octetString(value))
    : sequence(objectIdentifier(oid), octetString(value));
}

/** A self-signed ECDSA P-256 CA certificate, as PEM. */
export function selfSignedCaCertificate(
  commonName: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
  notBefore: Date,
  notAfter: Date,
): string {
  const spki = publicKey.export({ format: "der", type: "spki" });
  const jwk = publicKey.export({ format: "jwk" });
  if (!jwk.x || !jwk.y) throw new Error("expected an EC public key");
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed point).
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, "base64url"),
    Buffer.from(jwk.y, "base64url"),
  ]);
  const keyIdentifier = createHash("sha1").update(point).digest();
  const name = sequence(set(sequence(objectIdentifier(OID.commonName), utf8String(commonName))));
  const signatureAlgorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01; // positive and never zero
  // keyUsage bits: digitalSignature (0), keyEncipherment (2), keyCertSign (5) → 1010 0100, 2 unused bits.
  const keyUsage = bitString(Buffer.from([0b1010_0100]), 2);
  const tbsCertificate = sequence(
    explicit(0, smallInteger(2)), // version 3
    unsignedInteger(serial),
    signatureAlgorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(
      3,
      sequence(
        extension(OID.basicConstraints, true, sequence(booleanTrue())),
        extension(OID.keyUsage, true, keyUsage),
        extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier)),
      ),
    ),
  );
  const signature = sign("sha256", tbsCertificate, privateKey); // DER-encoded ECDSA signature
  const certificate = sequence(tbsCertificate, signatureAlgorithm, bitString(signature));
  const lines = certificate.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Generates the full set of files k3s expects, keyed by path relative to the tls directory. */
export function generateK3sCaSet(options: K3sCaOptions = {}): Record<string, string> {
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + (options.validityDays ?? 3650) * DAY_MS);
  const files: Record<string, string> = {};
  for (const { file, commonName } of K3S_CAS) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const subject = `${commonName}@${Math.floor(now.getTime() / 1000)}`;
    files[`${file}.crt`] = selfSignedCaCertificate(subject, privateKey, publicKey, notBefore, notAfter);
    // SEC 1 ("EC" PEM label) is the form k3s writes its own CA keys in.
    files[`${file}.key`] = privateKey.export({ format: "pem", type: "sec1" }).toString();
  }
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  // PKCS #1, as k3s generates it.
  files[K3S_SERVICE_ACCOUNT_KEY_FILE] = privateKey.export({ format: "pem", type: "pkcs1" }).toString();
  return files;
}
