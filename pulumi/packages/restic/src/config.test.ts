import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "@infra/core";
import { render } from "@tools/synth/src/testing";
import { type BackupSettings, readBackupSettings } from "./config";

const complete = {
  "backup:remote": "storage:homelab-backups/cluster-independent",
  "backup:storageHosts": ["s3.example.com", "*.b2.example.net", "198.51.100.7", "203.0.113.0/24"],
};

/** Reads the backup settings as project "shared" on stack cloud-a: what it read, or what it threw. */
async function readWith(config: Record<string, unknown>, secretKeys: string[] = []) {
  const outcome: { value?: BackupSettings; error?: unknown } = {};
  const rendered = await render(
    () => {
      try {
        outcome.value = readBackupSettings();
      } catch (error) {
        outcome.error = error;
      }
    },
    { project: "shared", stack: "cloud-a", config, secretKeys },
  );
  assert.deepEqual(rendered.errors, []);
  return outcome;
}

async function configError(config: Record<string, unknown>, secretKeys: string[] = []): Promise<string> {
  const { error } = await readWith(config, secretKeys);
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error.message;
}

describe("readBackupSettings", () => {
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

  it("takes the target from the site when the stack sets none, and the stack's where it sets one", async () => {
    const site = { remote: "site:backups", storageHosts: ["s3.site.example.net"] };
    const outcome: { value?: BackupSettings } = {};
    await render(
      () => {
        outcome.value = readBackupSettings(site);
      },
      { project: "shared", stack: "cloud-a", config: { "backup:remote": "stack:backups" } },
    );
    assert.equal(outcome.value?.remote, "stack:backups");
    assert.deepEqual(outcome.value?.storage.fqdns, ["s3.site.example.net"]);
  });

  it("fails on a misspelled key inside a setting, naming the key it meant", async () => {
    assert.match(
      await configError({ ...complete, "backup:retention": { dialy: 3 } }),
      /backup:retention\.dialy is not a setting; did you mean daily\?/,
    );
  });

  it("defaults to a nightly schedule and 7 daily, 4 weekly and 6 monthly snapshots", async () => {
    const { value } = await readWith(complete);
    assert.equal(value?.schedule, "30 3 * * *");
    assert.equal(value?.drillSchedule, "0 5 * * 0");
    assert.deepEqual(value?.retention, { daily: 7, weekly: 4, monthly: 6 });
  });

  it("takes the jobs' storage to be append-only unless the stack says otherwise", async () => {
    assert.equal((await readWith(complete)).value?.appendOnly, true);
    assert.equal((await readWith({ ...complete, "backup:appendOnly": false })).value?.appendOnly, false);
    assert.match(
      await configError({ ...complete, "backup:appendOnly": "sometimes" }),
      /backup:appendOnly: expected true or false/,
    );
  });

  it("fails on a missing remote, naming the key, the stack and what is expected", async () => {
    const { "backup:remote": _remote, ...rest } = complete;
    const message = await configError(rest);
    assert.match(
      message,
      /^Missing config "backup:remote" for stack "cloud-a" \(Pulumi\.cloud-a\.yaml of project "shared"\)/,
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

  it("refuses the stack-wide rclone config and restic password, saying where each repository keeps its own", async () => {
    for (const key of ["backup:rcloneConfig", "backup:resticPassword"]) {
      const message = await configError({ ...complete, [key]: "old" }, [key]);
      assert.match(message, new RegExp(`Config "${key}" of stack "cloud-a" .* is no longer read`));
      assert.match(message, /secrets\/apps\/<app>\.yaml, secrets\/backups\/<name>\.yaml/);
    }
  });
});
