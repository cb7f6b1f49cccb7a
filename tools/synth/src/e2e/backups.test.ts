import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { buildModel, canReach } from "../reachability";
import {
  type ExampleOutput,
  exampleStacks,
  placement,
  synthExampleStacks,
  type WrittenResource,
} from "./example-stacks";

const repoRoot = resolve(__dirname, "..", "..", "..", "..");
const resticScripts = join(repoRoot, "pulumi", "packages", "restic", "scripts");
const databaseScripts = join(repoRoot, "pulumi", "packages", "databases", "scripts");
const databases = ["postgresql", "mariadb", "mysql"] as const;
/** The database servers a stack runs (MySQL only where an app needs it). */
const databasesOn = (stack: string) => databases.filter((kind) => placement(kind).includes(stack));

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([...databases]);
});
after(() => output.remove());

/** The stack's backup settings, set once in the shared project's stack file. */
const backupSettings = (stack: string) => output.backupConfig(stack);
/** The hosts of the stack's alert target and heartbeat (`backup:notify`), which the backup jobs reach too. */
const notifyHosts = (stack: string): string[] => {
  const notify = backupSettings(stack)["backup:notify"] as { url?: string; heartbeat?: string } | undefined;
  return [notify?.url, notify?.heartbeat].flatMap((url) => (url ? [new URL(url).hostname] : []));
};
/** A database server's own schedule (`<kind>:backup.schedule`), else the stack's. */
const scheduleOf = (stack: string, kind: string) =>
  output.config(stack, kind)[`${kind}:backup`]?.schedule ?? backupSettings(stack)["backup:schedule"];

function each(check: (stack: string, kind: (typeof databases)[number]) => void): void {
  for (const stack of exampleStacks) for (const kind of databasesOn(stack)) check(stack, kind);
}

function resource(stack: string, project: string, type: string, name: string): WrittenResource {
  const found = output
    .resources(stack, project)
    .find((candidate) => candidate.type === type && candidate.name === name);
  assert.ok(found, `${stack}/${project} has no ${type} ${name}`);
  return found;
}

const urnOf = (stack: string, kind: string, type: string, name: string) =>
  (resource(stack, kind, type, name) as WrittenResource & { urn: string }).urn;

function podSpec(object: Record<string, any>): Record<string, any> {
  return object.kind === "CronJob" ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec;
}

function env(object: Record<string, any>): Record<string, any> {
  return Object.fromEntries(
    podSpec(object).containers[0].env.map((variable: Record<string, any>) => [
      variable.name,
      variable.value ?? variable.valueFrom,
    ]),
  );
}

describe("the database layers' backups on the example stacks", () => {
  it("synthesize and validate without a problem", () => {
    assert.deepEqual(output.problems, []);
  });

  it("run after the CNI, reading the server's kube context and the stack's backup settings from shared", () => {
    for (const stack of exampleStacks) {
      const order = output.order(stack).map((entry) => entry.project);
      for (const kind of databasesOn(stack))
        assert.ok(order.indexOf(kind) > order.indexOf("cilium"), `${stack}: ${order}`);
      const reads = output.order(stack).find((entry) => entry.project === "postgresql")?.reads;
      // The settings and the alert target's URLs (a secret output): the repository's credentials
      // come from its own secrets file, not the stack.
      assert.deepEqual(
        reads?.shared?.sort(),
        notifyHosts(stack).length > 0 ? ["backup", "backupNotify", "server"] : ["backup", "server"],
        stack,
      );
    }
  });

  it("back each server up on its configured schedule, and restore it with a job", () => {
    each((stack, kind) => {
      const scheduled = output.manifest(stack, kind, "CronJob", `${kind}-backup`);
      assert.equal(scheduled.spec.schedule, scheduleOf(stack, kind));
      assert.equal(scheduled.spec.suspend, undefined);
      assert.deepEqual(podSpec(scheduled).containers[0].command, [
        "/bin/bash",
        "/opt/scripts/run.sh",
        "backup.sh",
      ]);
      const restore = output.manifest(stack, kind, "Job", `${kind}-restore`);
      assert.deepEqual(podSpec(restore).containers[0].command, [
        "/bin/bash",
        "/opt/scripts/run.sh",
        "restore.sh",
      ]);
      assert.equal(env(restore).RESTORE_PRESENT_HOOK, `/opt/scripts/${kind}-present-hook.sh`);
    });
  });

  it("start each server only after its restore job succeeded", () => {
    each((stack, kind) => {
      const deployment = resource(stack, kind, "kubernetes:apps/v1:Deployment", `${kind}/${kind}`);
      assert.ok(
        deployment.dependsOn.includes(
          urnOf(stack, kind, "kubernetes:batch/v1:Job", `${kind}/${kind}-restore`),
        ),
      );
    });
  });

  it("on destroy stop the server first, then take the final backup, then delete the volume and secrets", () => {
    each((stack, kind) => {
      const command = resource(stack, kind, "command:local:Command", `${kind}/${kind}-final-backup`);
      const commandUrn = urnOf(stack, kind, "command:local:Command", `${kind}/${kind}-final-backup`);
      // Pulumi deletes dependents first: the server (depends on the command) goes before the command's delete runs...
      assert.ok(
        resource(stack, kind, "kubernetes:apps/v1:Deployment", `${kind}/${kind}`).dependsOn.includes(
          commandUrn,
        ),
      );
      // ...and what the command depends on goes only after it succeeded.
      for (const [type, name] of [
        ["kubernetes:core/v1:PersistentVolumeClaim", `${kind}/${kind}-data`],
        ["kubernetes:core/v1:Secret", `${kind}/restic-password`],
        ["kubernetes:core/v1:Secret", `${kind}/rclone-config`],
        ["kubernetes:batch/v1:CronJob", `${kind}/${kind}-final-backup`],
        ["kubernetes:batch/v1:CronJob", `${kind}/${kind}-backup`],
        ["kubernetes:cilium.io/v2:CiliumNetworkPolicy", `${kind}/${kind}-backup-storage`],
      ]) {
        assert.ok(
          command.dependsOn.includes(urnOf(stack, kind, type as string, name as string)),
          `${stack}: ${name}`,
        );
      }
      assert.equal(command.inputs.delete, readFileSync(join(resticScripts, "final-backup.sh"), "utf8"));
      assert.equal(command.inputs.environment.KUBE_CONTEXT, stack);
      assert.equal(command.inputs.environment.CRONJOB, `${kind}-final-backup`);
      const template = output.manifest(stack, kind, "CronJob", `${kind}-final-backup`);
      assert.equal(template.spec.suspend, true);
      assert.equal(env(template).BACKUP_REASON, "final");
    });
  });

  it("give each server's database server a repository of its own, so no two servers write one", () => {
    for (const kind of databases) {
      const stacks = placement(kind);
      const repositories = stacks.map(
        (stack) => env(output.manifest(stack, kind, "Job", `${kind}-restore`)).RESTIC_REPOSITORY,
      );
      assert.deepEqual(
        repositories,
        stacks.map((stack) => `rclone:${backupSettings(stack)["backup:remote"]}/${kind}-${stack}`),
      );
      for (const stack of stacks) {
        // Snapshots are taken and found by the same identity (restic's host and tag).
        assert.equal(
          env(output.manifest(stack, kind, "Job", `${kind}-restore`)).BACKUP_APP,
          `${kind}-${stack}`,
        );
      }
    }
  });

  it("ship the restic scripts and database hooks exactly as their real tests run them", () => {
    each((stack, kind) => {
      const online = output.manifest(stack, kind, "ConfigMap", `${kind}-backup-scripts`).data;
      const offline = output.manifest(stack, kind, "ConfigMap", `${kind}-offline-backup-scripts`).data;
      for (const name of ["backup.sh", "restore.sh", "common.sh"]) {
        const tested = readFileSync(join(resticScripts, name), "utf8");
        assert.equal(online[name], tested, name);
        assert.equal(offline[name], tested, name);
      }
      for (const name of [
        "database-lib.sh",
        // MariaDB's and MySQL's libraries source the one they share.
        ...(kind === "postgresql" ? [] : ["mysql-family-lib.sh"]),
        `${kind}-lib.sh`,
        `${kind}-backup-hook.sh`,
        `${kind}-present-hook.sh`,
        `${kind}-restore-hook.sh`,
      ]) {
        assert.equal(offline[name], readFileSync(join(databaseScripts, name), "utf8"), name);
      }
    });
  });

  it("let the backup jobs out to the configured storage hosts and ports only", () => {
    each((stack, kind) => {
      const config = backupSettings(stack);
      const ports = (config["backup:storagePorts"] ?? [443]).map((port: number) => ({
        port: String(port),
        protocol: "TCP",
      }));
      const policy = output.manifest(stack, kind, "CiliumNetworkPolicy", `${kind}-backup-storage`).spec;
      assert.deepEqual(policy.endpointSelector, { matchLabels: { "backup.infra/app": kind } });
      assert.equal(policy.ingress, undefined);
      const destinations = policy.egress.filter((rule: Record<string, unknown>) => !rule.toEndpoints);
      assert.deepEqual(
        destinations.flatMap((rule: Record<string, any>) =>
          (rule.toFQDNs ?? []).map((name: any) => name.matchName),
        ),
        [...config["backup:storageHosts"], ...new Set(notifyHosts(stack))],
      );
      const storageRules = destinations.filter((rule: Record<string, any>) =>
        (rule.toFQDNs ?? []).some((name: any) => config["backup:storageHosts"].includes(name.matchName)),
      );
      for (const rule of storageRules) assert.deepEqual(rule.toPorts, [{ ports }]);
    });
  });

  it("let the backup jobs reach the storage hosts and their own server only, and no other pod in", () => {
    for (const stack of exampleStacks) {
      const kinds = databasesOn(stack);
      const model = buildModel(
        ["shared", "cilium", ...kinds].flatMap((project) => output.manifests(stack, project)),
      );
      for (const kind of kinds) {
        const config = backupSettings(stack);
        const port: number = config["backup:storagePorts"]?.[0] ?? 443;
        for (const job of [`${kind}-backup`, `${kind}-restore`, `${kind}-final-backup`, `${kind}-drill`]) {
          const from = `${kind}/${job}`;
          for (const host of config["backup:storageHosts"])
            assert.ok(canReach(model, from, `world:${host}`, port), from);
          assert.equal(canReach(model, from, "world:203.0.113.10", port), false, from);
          assert.equal(canReach(model, from, "world:storage.example.org", port), false, from);
        }
        const server = `${kind}/${kind}`;
        const serverPort = kind === "postgresql" ? 5432 : 3306;
        assert.ok(canReach(model, `${kind}/${kind}-backup`, server, serverPort));
        for (const other of kinds.filter((candidate) => candidate !== kind))
          assert.equal(canReach(model, `${other}/${other}-backup`, server, serverPort), false, other);
      }
    }
  });

  it("export every app's schedule, repository, retention and password's file, and where the server answers, never a password", () => {
    each((stack, kind) => {
      const outputs = output.outputs(stack, kind);
      assert.deepEqual(outputs.backups, [
        {
          app: `${kind}-${stack}`,
          namespace: kind,
          schedule: scheduleOf(stack, kind),
          repository: `rclone:${backupSettings(stack)["backup:remote"]}/${kind}-${stack}`,
          retention: backupSettings(stack)["backup:retention"],
          secretsFile: `secrets/backups/${kind}-${stack}.yaml`,
        },
      ]);
      assert.equal(outputs.server.host, `${kind}.${kind}.svc.cluster.local`);
      assert.deepEqual(outputs.server.adminSecret, { name: `${kind}-admin`, key: "password" });
      assert.equal(JSON.stringify(outputs).includes('password":'), false);
    });
  });

  // Synth itself fails (the first test) when a written file holds a configured or generated secret.
  it("write no secret in plain text, and no Secret's data", () => {
    for (const stack of exampleStacks) {
      // What synth answers for each server's own secrets file (tools/synth/src/invokes.ts).
      const placeholders = databasesOn(stack).flatMap((kind) =>
        ["resticPassword", "rcloneConfig"].map((key) =>
          createHash("sha256")
            .update(`synth-app-secret:${stack}:secrets/backups/${kind}-${stack}.yaml:${key}`)
            .digest("base64url"),
        ),
      );
      for (const { path, text } of output.files(stack)) {
        for (const placeholder of placeholders)
          assert.ok(!text.includes(placeholder), `${path} leaks a secret`);
      }
      for (const kind of databasesOn(stack)) {
        assert.deepEqual(output.manifest(stack, kind, "Secret", `${kind}-admin`).stringData, {
          password: "[secret]",
        });
        assert.deepEqual(output.manifest(stack, kind, "Secret", "restic-password").stringData, {
          password: "[secret]",
        });
      }
    }
  });

  it("are listed by task backup:status, which the root Taskfile includes", () => {
    const taskfile = parse(readFileSync(join(repoRoot, "Taskfile.yml"), "utf8"));
    assert.equal(taskfile.includes.backup, "./taskfiles/backup.yml");
    const backup = parse(readFileSync(join(repoRoot, "taskfiles", "backup.yml"), "utf8"));
    assert.deepEqual(backup.tasks.status.requires, { vars: ["STACK"] });
    assert.deepEqual(backup.tasks.status.cmds, [
      "bash pulumi/packages/restic/scripts/backup-status.sh {{.STACK}}",
    ]);
  });
});
