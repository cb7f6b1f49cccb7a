import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { type BackupConfig, readBackupConfig } from "./config";

const complete = {
  "backup:remote": "storage:homelab-backups/cluster-independent",
  "backup:storageHosts": ["s3.example.com", "*.b2.example.net", "198.51.100.7", "203.0.113.0/24"],
  "backup:rcloneConfig": "[storage]\ntype = s3\n",
  "backup:resticPassword": "correct horse battery staple",
};
const secrets = ["backup:rcloneConfig", "backup:resticPassword"];

/** Reads the backup config as project "postgresql" on stack cloud-a: what it read, or what it threw. */
async function readWith(config: Record<string, unknown>, secretKeys = secrets) {
  const outcome: { value?: BackupConfig; error?: unknown; secret?: [string, boolean][] } = {};
  const rendered = await render(
    async () => {
      try {
        outcome.value = readBackupConfig();
        const { rcloneConfig, resticPassword } = outcome.value;
        outcome.secret = [
          [await promiseOf(rcloneConfig), await pulumi.isSecret(rcloneConfig)],
          [await promiseOf(resticPassword), await pulumi.isSecret(resticPassword)],
        ];
      } catch (error) {
        outcome.error = error;
      }
    },
    { project: "postgresql", stack: "cloud-a", config, secretKeys },
  );
  assert.deepEqual(rendered.errors, []);
  return outcome;
}

function promiseOf(output: pulumi.Output<string>): Promise<string> {
  return new Promise((resolve) => output.apply(resolve));
}

async function configError(config: Record<string, unknown>, secretKeys = secrets): Promise<string> {
  const { error } = await readWith(config, secretKeys);
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error.message;
}

describe("readBackupConfig", () => {
  it("reads the backup: namespace, sorting storage hosts into names, patterns and ranges", async () => {
    const { value } = await readWith(complete);
    assert.equal(value?.remote, "storage:homelab-backups/cluster-independent");
    assert.deepEqual(value?.storage, {
      fqdns: ["s3.example.com"],
      fqdnPatterns: ["*.b2.example.net"],
      cidrs: ["198.51.100.7/32", "203.0.113.0/24"],
      ports: [443],
    });
  });

  it("defaults to a nightly schedule and 7 daily, 4 weekly and 6 monthly snapshots", async () => {
    const { value } = await readWith(complete);
    assert.equal(value?.schedule, "30 3 * * *");
    assert.deepEqual(value?.retention, { daily: 7, weekly: 4, monthly: 6 });
  });

  it("keeps the rclone config and the restic password secret", async () => {
    const { secret } = await readWith(complete);
    assert.deepEqual(secret, [
      ["[storage]\ntype = s3\n", true],
      ["correct horse battery staple", true],
    ]);
  });

  it("fails on a missing remote, naming the key, the stack and what is expected", async () => {
    const { "backup:remote": _remote, ...rest } = complete;
    const message = await configError(rest);
    assert.match(
      message,
      /^Missing config "backup:remote" for stack "cloud-a" \(Pulumi\.cloud-a\.yaml of project "postgresql"\)/,
    );
    assert.match(message, /expected <remote>:<bucket>\[\/<path>\]/);
  });

  it("refuses a remote without a bucket, a trailing slash or a parent path", async () => {
    for (const remote of ["storage", "storage:", "storage:bucket/", "storage:bucket/../other"]) {
      assert.match(
        await configError({ ...complete, "backup:remote": remote }),
        /Invalid config "backup:remote"/,
        remote,
      );
    }
  });

  it("refuses a storage host that is neither a DNS name nor an address", async () => {
    const message = await configError({ ...complete, "backup:storageHosts": ["https://s3.example.com"] });
    assert.match(message, /backup:storageHosts\.0: expected a DNS name/);
  });

  it("refuses a schedule Kubernetes would not accept", async () => {
    const message = await configError({ ...complete, "backup:schedule": "0 0 3 * * *" });
    assert.match(message, /backup:schedule: expected a CronJob schedule/);
  });

  it("refuses secrets stored in plain text", async () => {
    const message = await configError(complete, ["backup:rcloneConfig"]);
    assert.match(
      message,
      /"backup:resticPassword" of stack "cloud-a" is stored in plain text; it must be a secret/,
    );
  });
});
