// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import { generateKeyPairSync, type KeyObject, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// The cast bridges @types/node's WebCrypto typings and the global `Crypto` the library declares.
x509.cryptoProvider.set(webcrypto as Crypto);

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

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" };

/** A self-signed ECDSA P-256 CA certificate, as PEM. */
export async function selfSignedCaCertificate(
  commonName: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
  notBefore: Date,
  notAfter: Date,
): Promise<string> {
  const keys = {
    privateKey: privateKey.toCryptoKey(EC_P256, false, ["sign"]),
    publicKey: publicKey.toCryptoKey(EC_P256, true, ["verify"]),
  };
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: new x509.Name([{ CN: [{ utf8String: commonName }] }]),
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // The library's PEM lacks the final newline a PEM file ends with.
  return `${certificate.toString("pem")}\n`;
}

/** Generates the full set of files k3s expects, keyed by path relative to the tls directory. */
export async function generateK3sCaSet(options: K3sCaOptions = {}): Promise<Record<string, string>> {
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + (options.validityDays ?? 3650) * DAY_MS);
  const files: Record<string, string> = {};
  for (const { file, commonName } of K3S_CAS) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const subject = `${commonName}@${Math.floor(now.getTime() / 1000)}`;
    files[`${file}.crt`] = await selfSignedCaCertificate(subject, privateKey, publicKey, notBefore, notAfter);
    // SEC 1 ("EC" PEM label) is the form k3s writes its own CA keys in.
    files[`${file}.key`] = privateKey.export({ format: "pem", type: "sec1" }).toString();
  }
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  // PKCS #1, as k3s generates it.
  files[K3S_SERVICE_ACCOUNT_KEY_FILE] = privateKey.export({ format: "pem", type: "pkcs1" }).toString();
  return files;
}
