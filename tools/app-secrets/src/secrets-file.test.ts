import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { backupSecrets, randomBytes, randomString } from "@infra/app-secrets";
import { parse } from "yaml";
import { completeSecrets, secretsFileState } from "./secrets-file";

const repositoryRoot = resolve(__dirname, "..", "..", "..");

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
  const spec = { ...backupSecrets, encryptionKey: randomBytes(32), adminToken: randomString(32) };

  it("writes every generated key when the file is new, the restic password among them, and names the storage key still missing", () => {
    const { document, added, kept, missing } = completeSecrets("n8n", spec, {});
    const values = parse(document);
    assert.deepEqual(Object.keys(values).sort(), ["adminToken", "encryptionKey", "resticPassword"]);
    assert.match(values.resticPassword, /^[A-Za-z0-9]{64}$/);
    assert.deepEqual(added.sort(), ["adminToken", "encryptionKey", "resticPassword"]);
    assert.deepEqual(kept, []);
    assert.deepEqual(
      missing.map((entry) => [entry.key, entry.variable]),
      [["rcloneConfig", "STORAGE_CONFIG"]],
    );
  });

  it("keeps what the file holds, adding only the keys it lacks and the storage key given", () => {
    const { document, added, kept, missing } = completeSecrets(
      "n8n",
      spec,
      { encryptionKey: "kept-key", resticPassword: "kept-password" },
      { rcloneConfig: "[storage]\ntype = s3\n" },
    );
    const values = parse(document);
    assert.deepEqual([values.encryptionKey, values.resticPassword], ["kept-key", "kept-password"]);
    assert.equal(values.rcloneConfig, "[storage]\ntype = s3\n");
    assert.deepEqual(
      [added.sort(), kept.sort(), missing],
      [["adminToken", "rcloneConfig"], ["encryptionKey", "resticPassword"], []],
    );
  });
});

describe("the app-secrets command", () => {
  const cli = (args: string[], input = "") =>
    spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "cli.ts"), ...args], {
      cwd: repositoryRoot,
      input,
      encoding: "utf8",
    });

  it("writes a database server's backup secrets, with the storage key from a file", () => {
    const storage = join(mkdtempSync(join(tmpdir(), "app-secrets-")), "rclone.conf");
    writeFileSync(storage, "[storage]\ntype = s3\nprovider = Backblaze\n");
    const result = cli(["secrets/backups/postgresql-cloud-a.yaml", "--provide", `rcloneConfig=${storage}`]);
    assert.equal(result.status, 0, result.stderr);
    const values = parse(result.stdout);
    assert.deepEqual(Object.keys(values).sort(), ["rcloneConfig", "resticPassword"]);
    assert.equal(values.rcloneConfig, "[storage]\ntype = s3\nprovider = Backblaze\n");
    assert.match(
      result.stderr,
      /postgresql-cloud-a: wrote resticPassword, rcloneConfig|wrote rcloneConfig, resticPassword/,
    );
  });

  it("says how to bring the storage key it cannot generate", () => {
    const result = cli(["secrets/apps/vaultwarden.yaml"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /vaultwarden: still missing rcloneConfig, .*: run `task app:secrets APP=vaultwarden STORAGE_CONFIG=<file>` once you have it/,
    );
  });

  it("refuses a path that is no secrets file", () => {
    const result = cli(["secrets/shared/env.yaml"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /secrets\/shared\/env\.yaml is not a secrets file/);
  });
});

describe(".sops.yaml", () => {
  const config = parse(readFileSync(join(repositoryRoot, ".sops.yaml"), "utf8")) as {
    keys: { admins: string[]; servers: string[] };
    creation_rules: { path_regex: string; key_groups: { age: string[] }[] }[];
  };
  const recipients = (file: string) =>
    config.creation_rules
      .find((rule) => new RegExp(rule.path_regex).test(file))
      ?.key_groups.flatMap((group) => group.age);

  it("encrypts an app's file and a server's backup secrets for the admins only, never for a server", () => {
    for (const file of ["secrets/apps/n8n.yaml", "secrets/backups/postgresql-cloud-a.yaml"]) {
      assert.deepEqual(recipients(file), config.keys.admins, file);
    }
  });
});
