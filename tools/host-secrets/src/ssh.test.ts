import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bech32 } from "@scure/base";
import {
  ageRecipientFromSshPublicKey,
  ed25519PublicToX25519,
  encodeOpenSshEd25519,
  generateSshHostKey,
} from "./ssh";

const available = (command: string, ...args: string[]) => spawnSync(command, args).error === undefined;

function withTempDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "host-key-"));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ed25519KeyPair(): { seed: Buffer; publicKey: Buffer } {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return { seed: Buffer.from(jwk.d ?? "", "base64url"), publicKey: Buffer.from(jwk.x ?? "", "base64url") };
}

/** The X25519 scalar sops-nix (like ssh-to-age) derives from an Ed25519 seed: SHA-512, first half. */
function x25519ScalarFromSeed(seed: Buffer): Buffer {
  return createHash("sha512").update(seed).digest().subarray(0, 32);
}

describe("bech32", () => {
  it("encodes the BIP 173 test vector with an empty payload", () => {
    assert.equal(bech32.encodeFromBytes("A", new Uint8Array()), "a12uel5l");
  });
});

describe("the SSH host key", () => {
  it("is an Ed25519 public key line carrying the given comment", () => {
    const key = generateSshHostKey("root@cloud-a");
    assert.match(key.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} root@cloud-a$/);
  });

  it("is a different key every time", () => {
    assert.notEqual(generateSshHostKey("a").publicKey, generateSshHostKey("a").publicKey);
  });

  it("is written in the OpenSSH format that sshd reads, padded to whole blocks", () => {
    const { seed, publicKey } = ed25519KeyPair();
    const key = encodeOpenSshEd25519(seed, publicKey, "root@x");
    const lines = key.privateKey.trim().split("\n");
    assert.equal(lines[0], `-----BEGIN OPENSSH ${"PRIVATE"} KEY-----`);
    assert.equal(lines.at(-1), `-----END OPENSSH ${"PRIVATE"} KEY-----`);
    const body = Buffer.from(lines.slice(1, -1).join(""), "base64");
    assert.equal(body.subarray(0, 15).toString("latin1"), "openssh-key-v1\0");
    // The private section is the last string of the body; "none" encryption needs a multiple of 8.
    const sectionOffset = lastStringOffset(body);
    const sectionLength = body.readUInt32BE(sectionOffset);
    assert.equal(sectionOffset + 4 + sectionLength, body.length);
    assert.equal(sectionLength % 8, 0);
  });

  it("is accepted by ssh-keygen, which derives the same public key from it", {
    skip: available("ssh-keygen", "-?")
      ? false
      : "ssh-keygen is not installed (Debian package openssh-client)",
  }, () => {
    const key = generateSshHostKey("root@cloud-a");
    withTempDir((dir) => {
      const file = join(dir, "ssh_host_ed25519_key");
      writeFileSync(file, key.privateKey, { mode: 0o600 });
      const result = spawnSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.trim(), key.publicKey);
    });
  });
});

describe("the server's age recipient", () => {
  it("is the X25519 public key of the scalar sops-nix derives from the SSH host key", () => {
    const { seed, publicKey } = ed25519KeyPair();
    // PKCS #8 wrapping of a raw X25519 private key (RFC 8410).
    const prefix = Buffer.from("302e020100300506032b656e04220420", "hex");
    const x25519 = createPrivateKey({
      key: Buffer.concat([prefix, x25519ScalarFromSeed(seed)]),
      format: "der",
      type: "pkcs8",
    });
    const expected = Buffer.from(createPublicKey(x25519).export({ format: "jwk" }).x ?? "", "base64url");
    assert.deepEqual(ed25519PublicToX25519(publicKey), expected);
  });

  it("is a bech32 age1 string of the converted key", () => {
    const key = generateSshHostKey("root@cloud-a");
    assert.match(ageRecipientFromSshPublicKey(key.publicKey), /^age1[02-9ac-hj-np-z]{58}$/);
  });

  it("rejects a public key that is not Ed25519", () => {
    assert.throws(() => ageRecipientFromSshPublicKey("ssh-rsa AAAAB3NzaC1yc2E root@x"), /ssh-ed25519/);
  });

  it("decrypts, with the identity sops-nix derives from the host key, what age encrypted to it", {
    skip: available("age", "--version") ? false : "age is not installed (Debian package age)",
  }, () => {
    const { seed, publicKey } = ed25519KeyPair();
    const { publicKey: line } = encodeOpenSshEd25519(seed, publicKey, "root@x");
    const recipient = ageRecipientFromSshPublicKey(line);
    const identity = bech32.encodeFromBytes("AGE-SECRET-KEY-", x25519ScalarFromSeed(seed)).toUpperCase();
    withTempDir((dir) => {
      writeFileSync(join(dir, "identity"), `${identity}\n`, { mode: 0o600 });
      const derived = spawnSync("age-keygen", ["-y", join(dir, "identity")], { encoding: "utf8" });
      assert.equal(derived.stdout.trim(), recipient, derived.stderr);
      const encrypted = spawnSync("age", ["--encrypt", "-r", recipient], { input: "the secret" });
      assert.equal(encrypted.status, 0, encrypted.stderr?.toString());
      const decrypted = spawnSync("age", ["--decrypt", "-i", join(dir, "identity")], {
        input: encrypted.stdout,
      });
      assert.equal(decrypted.stdout.toString(), "the secret", decrypted.stderr?.toString());
    });
  });
});

/** Offset of the last SSH string in an openssh-key-v1 body (the encrypted/private section). */
function lastStringOffset(body: Buffer): number {
  let offset = 15; // magic
  for (let index = 0; index < 3; index++) offset += 4 + body.readUInt32BE(offset); // cipher, kdf, kdf options
  offset += 4; // number of keys
  offset += 4 + body.readUInt32BE(offset); // public key
  return offset;
}
