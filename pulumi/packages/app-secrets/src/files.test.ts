import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { appSecretsFile, backupSecrets, backupSecretsFile, secretsFileAt } from "./files";

const repositoryRoot = resolve(__dirname, "..", "..", "..", "..");

describe("the secrets files", () => {
  it("give every app its backups' password and storage key beside the stable secrets it declares", () => {
    const file = appSecretsFile(repositoryRoot, "vaultwarden");
    assert.equal(file.path, "secrets/apps/vaultwarden.yaml");
    assert.deepEqual(Object.keys(file.spec), [
      "resticPassword",
      "rcloneConfig",
      "adminToken",
      "adminTokenHash",
    ]);
    assert.equal(file.task, "task app:secrets APP=vaultwarden");
  });

  it("give an app that declares no stable secrets its backup secrets only", () => {
    assert.deepEqual(Object.keys(appSecretsFile(repositoryRoot, "notes").spec), [
      "resticPassword",
      "rcloneConfig",
    ]);
  });

  it("generate the restic password and take the storage key from the operator", () => {
    assert.deepEqual(backupSecrets.resticPassword, { kind: "string", length: 64, alphabet: "alphanumeric" });
    assert.equal(backupSecrets.rcloneConfig.kind, "provided");
    assert.equal(backupSecrets.rcloneConfig.variable, "STORAGE_CONFIG");
  });

  it("keep the backups of data that is no app's in secrets/backups/<name>.yaml, with their own task", () => {
    const file = backupSecretsFile("postgresql-cloud-a");
    assert.deepEqual(
      [file.path, file.owner, Object.keys(file.spec), file.task],
      [
        "secrets/backups/postgresql-cloud-a.yaml",
        "postgresql-cloud-a",
        ["resticPassword", "rcloneConfig"],
        "task backup:secrets NAME=postgresql-cloud-a",
      ],
    );
  });

  it("are found by their path from the repository's root, and nothing else is one", () => {
    assert.equal(secretsFileAt(repositoryRoot, "secrets/apps/n8n.yaml").owner, "n8n");
    assert.equal(
      secretsFileAt(repositoryRoot, "secrets/backups/mariadb-local-a.yaml").owner,
      "mariadb-local-a",
    );
    for (const path of [
      "secrets/shared/env.yaml",
      "secrets/hosts/cloud-a.yaml",
      "secrets/apps/../x.yaml",
      "secrets/apps/N8N.yaml",
    ]) {
      assert.throws(
        () => secretsFileAt(repositoryRoot, path),
        /not a secrets file|not an app or backup name/,
        path,
      );
    }
  });
});
