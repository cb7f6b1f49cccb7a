import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { randomBytes, randomString } from "@infra/app-secrets";
import { parse } from "yaml";
import { completeSecrets, loadSpec, secretsFileState } from "./secrets-file";

const appsDir = resolve(__dirname, "..", "..", "..", "pulumi", "apps");

describe("the secrets file of an app", () => {
  const dir = mkdtempSync(join(tmpdir(), "app-secrets-"));

  it("is absent until task app:secrets writes it, and encrypted once it has", () => {
    assert.equal(secretsFileState(join(dir, "none.yaml")), "absent");
    const encrypted = join(dir, "encrypted.yaml");
    writeFileSync(
      encrypted,
      "key: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:x]\n",
    );
    assert.equal(secretsFileState(encrypted), "encrypted");
  });

  it("is refused when it holds values in clear text", () => {
    const plain = join(dir, "plain.yaml");
    writeFileSync(plain, "key: a-real-value\n");
    assert.throws(() => secretsFileState(plain), /is not encrypted with sops: its values are in clear text/);
  });
});

describe("completeSecrets", () => {
  const spec = { encryptionKey: randomBytes(32), adminToken: randomString(32) };

  it("writes every declared key when the file is new", () => {
    const { document, added, kept } = completeSecrets("n8n", spec, {});
    assert.deepEqual(Object.keys(parse(document)).sort(), ["adminToken", "encryptionKey"]);
    assert.deepEqual(added.sort(), ["adminToken", "encryptionKey"]);
    assert.deepEqual(kept, []);
  });

  it("keeps what the file holds, adding only the keys it lacks", () => {
    const { document, added, kept } = completeSecrets("n8n", spec, { encryptionKey: "kept-key" });
    assert.equal(parse(document).encryptionKey, "kept-key");
    assert.deepEqual([added, kept], [["adminToken"], ["encryptionKey"]]);
  });
});

describe("loadSpec", () => {
  it("reads the secrets every app with stable secrets declares", () => {
    const apps = readdirSync(appsDir).filter((app) => {
      try {
        loadSpec(appsDir, app);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(apps.includes("vaultwarden"), apps.join(", "));
    assert.deepEqual(Object.keys(loadSpec(appsDir, "vaultwarden")), ["adminToken", "adminTokenHash"]);
  });

  it("names the file it looked for when an app declares none", () => {
    assert.throws(
      () => loadSpec(appsDir, "vpn"),
      /app "vpn" declares no stable secrets \(no .*vpn\/src\/secrets\.ts\)/,
    );
  });
});
