import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  type ExampleOutput,
  exampleStacks,
  placement,
  synthExampleStacks,
} from "@tools/synth/src/e2e/example-stacks";

// The database layers make their server the same way (createDatabaseServer); this file tests
// what the projects give it for its own backups, for PostgreSQL, MariaDB and MySQL alike, on the
// stacks each runs on.
const kinds = ["postgresql", "mariadb", "mysql"] as const;

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([...kinds]);
});
after(() => output.remove());

/** What synth answers for a key of a secrets file (tools/synth/src/invokes.ts): never the real value. */
const synthSecret = (stack: string, file: string, key: string) =>
  createHash("sha256").update(`synth-app-secret:${stack}:${file}:${key}`).digest("base64url");

describe("a database server's own backups on the example stacks", () => {
  it("open the server's repository with its own password and storage key, from secrets/backups/<kind>-<server>.yaml", async () => {
    for (const stack of exampleStacks) {
      const secretsOf = new Map<string, string[]>();
      for (const kind of kinds.filter((candidate) => placement(candidate).includes(stack))) {
        const file = `secrets/backups/${kind}-${stack}.yaml`;
        const run = await output.rerun(stack, kind, () => {});
        assert.deepEqual(run.errors, []);
        const password = run.manifest("Secret", "restic-password").stringData.password;
        const rclone = run.manifest("Secret", "rclone-config").stringData["rclone.conf"];
        assert.equal(password, synthSecret(stack, file, "resticPassword"), `${stack}/${kind}`);
        assert.equal(rclone, synthSecret(stack, file, "rcloneConfig"), `${stack}/${kind}`);
        secretsOf.set(kind, [password, rclone]);
        assert.equal(output.outputs(stack, kind).backups[0].secretsFile, file);
      }
      // No two servers, and no two kinds on one server, share a password or a storage key.
      const all = [...secretsOf.values()].flat();
      assert.equal(new Set(all).size, all.length, stack);
    }
  });

  it("leave retention to the operator's task backup:prune, as the stack's storage keys are append-only", () => {
    for (const stack of exampleStacks) {
      assert.equal(output.backupConfig(stack)["backup:appendOnly"], true);
      for (const kind of kinds.filter((candidate) => placement(candidate).includes(stack))) {
        const cronJob = output.manifest(stack, kind, "CronJob", `${kind}-backup`);
        const env = cronJob.spec.jobTemplate.spec.template.spec.containers[0].env;
        const appendOnly = env.find(
          (variable: Record<string, string>) => variable.name === "BACKUP_APPEND_ONLY",
        );
        assert.equal(appendOnly?.value, "true", `${stack}/${kind}`);
      }
    }
  });
});
