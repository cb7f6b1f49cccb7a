import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateK3sCaSet, K3S_CAS, K3S_SERVICE_ACCOUNT_KEY_FILE, K3S_TLS_FILES } from "./k3s-ca";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const skip = hasOpenssl ? false : "openssl is not installed (Debian package openssl)";

function openssl(...args: string[]): string {
  const result = spawnSync("openssl", args, { encoding: "utf8" });
  assert.equal(result.status, 0, `openssl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

function opensslBytes(...args: string[]): Buffer {
  const result = spawnSync("openssl", args);
  assert.equal(result.status, 0, `openssl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

describe("the k3s CA set", { skip }, () => {
  const now = new Date();
  let dir = "";
  let files: Record<string, string> = {};
  const path = (file: string) => join(dir, file);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "k3s-ca-"));
    files = await generateK3sCaSet({ now, validityDays: 3650 });
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(dirname(path(file)), { recursive: true });
      writeFileSync(path(file), content, { mode: 0o600 });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("contains exactly the files k3s looks for in its tls directory", () => {
    assert.deepEqual(Object.keys(files).sort(), [
      "client-ca.crt",
      "client-ca.key",
      "etcd/peer-ca.crt",
      "etcd/peer-ca.key",
      "etcd/server-ca.crt",
      "etcd/server-ca.key",
      "request-header-ca.crt",
      "request-header-ca.key",
      "server-ca.crt",
      "server-ca.key",
      "service.key",
    ]);
    assert.deepEqual([...K3S_TLS_FILES].sort(), Object.keys(files).sort());
  });

  for (const { file, commonName } of K3S_CAS) {
    describe(file, () => {
      it("is a self-signed certificate that openssl verifies against itself", () => {
        const crt = path(`${file}.crt`);
        assert.match(openssl("verify", "-CAfile", crt, crt), /: OK/);
      });

      it("is marked as a CA by a critical basic constraint", () => {
        const text = openssl("x509", "-in", path(`${file}.crt`), "-noout", "-ext", "basicConstraints");
        assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
      });

      it("may sign certificates, by a critical key usage", () => {
        const text = openssl("x509", "-in", path(`${file}.crt`), "-noout", "-ext", "keyUsage");
        assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment, Certificate Sign/);
      });

      it("is valid from before now until ten years from now", () => {
        const crt = path(`${file}.crt`);
        const dates = openssl("x509", "-in", crt, "-noout", "-startdate", "-enddate");
        const start = new Date(/notBefore=(.+)/.exec(dates)?.[1] ?? "");
        const end = new Date(/notAfter=(.+)/.exec(dates)?.[1] ?? "");
        assert.ok(start.getTime() <= now.getTime(), `starts ${start.toISOString()}`);
        assert.equal(Math.round((end.getTime() - now.getTime()) / 86_400_000), 3650);
        // -checkend exits 0 when the certificate is still valid that many seconds from now.
        assert.equal(
          spawnSync("openssl", ["x509", "-in", crt, "-noout", "-checkend", String(9 * 365 * 86400)]).status,
          0,
        );
      });

      it("names the CA the way k3s names its own", () => {
        const subject = openssl("x509", "-in", path(`${file}.crt`), "-noout", "-subject");
        assert.match(subject, new RegExp(`CN\\s*=\\s*${commonName}@\\d+`));
      });

      it("has a private key, in the EC form k3s writes, that matches the certificate", () => {
        assert.match(files[`${file}.key`] ?? "", /^-----BEGIN EC PRIVATE KEY-----\n/);
        const fromCertificate = openssl("x509", "-in", path(`${file}.crt`), "-noout", "-pubkey");
        const fromKey = openssl("pkey", "-in", path(`${file}.key`), "-pubout");
        assert.equal(fromKey, fromCertificate);
      });

      it("carries a subject key identifier derived from its public key", () => {
        const text = openssl("x509", "-in", path(`${file}.crt`), "-noout", "-ext", "subjectKeyIdentifier");
        const identifier = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text)?.[1]?.replaceAll(":", "");
        const spki = opensslBytes("pkey", "-in", path(`${file}.key`), "-pubout", "-outform", "DER");
        const point = spki.subarray(spki.length - 65);
        assert.equal(identifier, createHash("sha1").update(point).digest("hex").toUpperCase());
      });
    });
  }

  it("gives every CA its own key", () => {
    const keys = K3S_CAS.map(({ file }) => files[`${file}.key`]);
    assert.equal(new Set(keys).size, K3S_CAS.length);
  });

  it("includes a 2048-bit RSA service-account key that openssl accepts", () => {
    const key = path(K3S_SERVICE_ACCOUNT_KEY_FILE);
    assert.match(files[K3S_SERVICE_ACCOUNT_KEY_FILE] ?? "", /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(openssl("rsa", "-in", key, "-check", "-noout"), /RSA key ok/);
    assert.match(openssl("rsa", "-in", key, "-noout", "-text"), /Private-Key: \(2048 bit/);
  });
});

describe("CA validity", { skip }, () => {
  it("uses GeneralizedTime for an expiry in 2050 or later, which openssl still reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k3s-ca-"));
    try {
      const files = await generateK3sCaSet({ now: new Date("2045-06-01T00:00:00Z"), validityDays: 3650 });
      writeFileSync(join(dir, "ca.crt"), files["server-ca.crt"] ?? "");
      const dates = openssl("x509", "-in", join(dir, "ca.crt"), "-noout", "-enddate");
      assert.match(dates, /notAfter=May 30 00:00:00 2055 GMT/);
      const structure = openssl("asn1parse", "-in", join(dir, "ca.crt"));
      assert.match(structure, /UTCTIME\s+:450531230000Z/);
      assert.match(structure, /GENERALIZEDTIME\s+:20550530000000Z/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
