import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { decryptCommand } from "@projects/common/src/app/stable-secrets";
import { answerInvoke } from "./invokes";

const repositoryRoot = resolve(__dirname, "..", "..", "..");
const context = { stack: "cloud-a", cwd: join(repositoryRoot, "pulumi", "projects", "vaultwarden") };
const run = (command: string) => answerInvoke("command:local:run", { command }, context);
const values = (answer: ReturnType<typeof run>) =>
  JSON.parse(String(answer.result.stdout)) as Record<string, string>;

describe("the local command invoke (an app's stable secrets)", () => {
  it("answers a placeholder for each key of an encrypted file, never decrypting it", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "synth-sops-")), "secrets", "apps");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "vaultwarden.yaml");
    writeFileSync(
      file,
      "adminToken: ENC[AES256_GCM,data:abc,type:str]\nextra: ENC[AES256_GCM,data:def,type:str]\nsops:\n  mac: x\n",
    );
    const answer = run(decryptCommand(file));
    assert.deepEqual(Object.keys(values(answer)), ["adminToken", "extra"]);
    assert.ok(!JSON.stringify(answer.result).includes("ENC["));
    assert.deepEqual(answer.secrets, Object.values(values(answer)));
    assert.match(answer.example ?? "", /its keys, with placeholder values: synth does not decrypt/);
  });

  it("answers the keys an app's file will hold when it does not exist yet, saying how to create it", () => {
    const answer = run(decryptCommand(join(repositoryRoot, "secrets", "apps", "vaultwarden.yaml")));
    // Its backups' password and storage key, and the stable secrets it declares.
    assert.deepEqual(Object.keys(values(answer)), [
      "resticPassword",
      "rcloneConfig",
      "adminToken",
      "adminTokenHash",
    ]);
    assert.match(
      answer.example ?? "",
      /secrets\/apps\/vaultwarden\.yaml does not exist yet .*task app:secrets APP=vaultwarden/,
    );
  });

  it("answers a database server's backup secrets from secrets/backups/<name>.yaml", () => {
    const answer = run(decryptCommand(join(repositoryRoot, "secrets", "backups", "postgresql-cloud-a.yaml")));
    assert.deepEqual(Object.keys(values(answer)), ["resticPassword", "rcloneConfig"]);
    assert.match(answer.example ?? "", /task backup:secrets NAME=postgresql-cloud-a/);
  });

  it("gives each stack, file and key its own placeholder", () => {
    const file = decryptCommand(join(repositoryRoot, "secrets", "apps", "vaultwarden.yaml"));
    const cloudA = values(run(file));
    const localA = values(
      answerInvoke("command:local:run", { command: file }, { ...context, stack: "local-a" }),
    );
    assert.notEqual(cloudA.adminToken, cloudA.adminTokenHash);
    assert.notEqual(cloudA.adminToken, localA.adminToken);
  });

  it("runs no other command", () => {
    assert.throws(() => run("rm -rf /"), /synth runs no local command; "rm -rf \/" is not a decryption/);
    assert.throws(
      () => run(decryptCommand(join(repositoryRoot, "secrets", "shared", "env.yaml"))),
      /is not a decryption of a secrets file/,
    );
  });
});

describe("the Terraform state invoke (a server's facts)", () => {
  const state = (stack: string) =>
    answerInvoke(
      "terraform:state:getLocalReference",
      { path: "../../../terraform/instances/nowhere/terraform.tfstate" },
      { stack, cwd: join(repositoryRoot, "pulumi", "projects", "shared") },
    );

  it("answers a server that has no state and no example entry with outputs in the documentation ranges, the same every run", () => {
    const answer = state("home-1");
    const outputs = answer.result.outputs as Record<string, unknown>;
    assert.deepEqual(Object.keys(outputs).sort(), [
      "id",
      "internal_ip",
      "public_ip",
      "ssh_host",
      "ssh_port",
      "ssh_user",
    ]);
    assert.match(String(outputs.public_ip), /^203\.0\.113\.\d+$/);
    assert.match(String(outputs.internal_ip), /^192\.0\.2\.\d+$/);
    assert.deepEqual(state("home-1").result, answer.result);
    assert.match(answer.example ?? "", /example outputs used/);
  });
});
