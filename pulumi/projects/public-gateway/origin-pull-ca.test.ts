import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { cloudflareOriginPullCa, cloudflareOriginPullCaSha256 } from "./origin-pull-ca";

describe("the pinned Cloudflare origin-pull CA", () => {
  const certificate = new X509Certificate(cloudflareOriginPullCa);

  it("is the certificate of the pinned fingerprint, intact: a CA that signed itself", () => {
    assert.equal(certificate.fingerprint256, cloudflareOriginPullCaSha256);
    assert.equal(certificate.ca, true);
    assert.equal(certificate.verify(certificate.publicKey), true);
  });

  it("is Cloudflare's Origin Pull CA, valid until November 2029", () => {
    assert.equal(certificate.subject, certificate.issuer);
    assert.match(certificate.subject, /CN=origin-pull\.cloudflare\.net/);
    assert.match(certificate.subject, /OU=Origin Pull/);
    assert.equal(new Date(certificate.validTo).toISOString(), "2029-11-01T17:00:00.000Z");
  });
});
