import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { argon2idParameters, argon2idPhc, generateAppSecrets } from "./generate";
import { argon2idHash, provided, randomBytes, randomString } from "./spec";

const spec = {
  adminToken: randomString(48),
  adminTokenHash: argon2idHash("adminToken"),
  encryptionKey: randomBytes(32),
  jwtSecret: randomBytes(32, "base64url"),
  hexKey: randomString(32, "hex"),
};

const argon2Cli = spawnSync("argon2", ["-h"]).error === undefined;

describe("generateAppSecrets", () => {
  it("generates every declared secret in the shape its app expects", () => {
    const { values, added } = generateAppSecrets("vaultwarden", spec);
    assert.deepEqual(added.sort(), Object.keys(spec).sort());
    assert.match(values.adminToken ?? "", /^[A-Za-z0-9]{48}$/);
    assert.equal(Buffer.from(values.encryptionKey ?? "", "base64").length, 32);
    assert.match(values.jwtSecret ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.match(values.hexKey ?? "", /^[0-9a-f]{32}$/);
    const { m, t, p } = argon2idParameters;
    assert.match(
      values.adminTokenHash ?? "",
      new RegExp(`^\\$argon2id\\$v=19\\$m=${m},t=${t},p=${p}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`),
    );
  });

  it("keeps every existing value exactly, generating only what is missing", () => {
    const first = generateAppSecrets("vaultwarden", spec).values;
    const { adminTokenHash: _hash, jwtSecret: _jwt, ...kept } = first;
    const second = generateAppSecrets("vaultwarden", spec, kept);
    assert.deepEqual(second.added.sort(), ["adminTokenHash", "jwtSecret"]);
    for (const [key, value] of Object.entries(kept)) assert.equal(second.values[key], value, key);
  });

  it("hashes the kept token, not a new one, when only the hash is missing", () => {
    const token = "kept-token-kept-token-kept-token";
    const { values } = generateAppSecrets(
      "vaultwarden",
      { token: randomString(32), hash: argon2idHash("token") },
      { token },
    );
    const salt = Buffer.from((values.hash ?? "").split("$")[4] ?? "", "base64");
    assert.equal(values.hash, argon2idPhc(token, salt));
  });

  it("never generates a value the operator provides: it takes it, replacing what was kept, or reports it missing", () => {
    const withKey = { password: randomString(32), storageKey: provided("the storage key", "STORAGE_CONFIG") };
    const first = generateAppSecrets("n8n", withKey);
    assert.deepEqual([first.added, first.missing], [["password"], ["storageKey"]]);
    assert.equal(first.values.storageKey, undefined);
    const second = generateAppSecrets(
      "n8n",
      withKey,
      { ...first.values, storageKey: "old" },
      { storageKey: "new" },
    );
    assert.equal(second.values.storageKey, "new");
    assert.equal(second.values.password, first.values.password);
    assert.deepEqual([second.added, second.missing], [[], []]);
    assert.throws(
      () => generateAppSecrets("n8n", withKey, {}, { password: "chosen" }),
      /"password" of app n8n is not one the operator provides; it is generated/,
    );
  });

  it("never generates the same value twice", () => {
    const a = generateAppSecrets("n8n", spec).values;
    const b = generateAppSecrets("n8n", spec).values;
    for (const key of Object.keys(spec)) assert.notEqual(a[key], b[key], key);
  });

  it("refuses a spec it cannot honour: short secrets, bad keys, a hash of nothing", () => {
    assert.throws(() => generateAppSecrets("x", { short: randomString(8) }), /at least 16 characters/);
    assert.throws(
      () => generateAppSecrets("x", { "bad-key": randomBytes(32) }),
      /keys are letters and digits/,
    );
    assert.throws(
      () => generateAppSecrets("x", { hash: argon2idHash("token") }),
      /hashes "token", which is not/,
    );
  });
});

describe("argon2idPhc", {
  skip: argon2Cli ? false : "needs the reference argon2 CLI (Debian package argon2)",
}, () => {
  it("writes the PHC string the reference argon2 implementation writes for the same salt", () => {
    const salt = Buffer.from("0123456789abcdef");
    const { m, t, p } = argon2idParameters;
    const reference = spawnSync(
      "argon2",
      [salt.toString(), "-id", "-t", String(t), "-k", String(m), "-p", String(p), "-l", "32", "-e"],
      { input: "correct horse battery staple", encoding: "utf8" },
    );
    assert.equal(reference.status, 0, reference.stderr);
    assert.equal(argon2idPhc("correct horse battery staple", salt), reference.stdout.trim());
  });
});
