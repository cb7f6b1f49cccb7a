import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { resticScriptsDir } from "@infra/restic";
import { exampleBackupConfig } from "@infra/restic/src/testing/backup-config";
import { documentedVariables } from "@infra/restic/src/testing/readme";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { type DatabaseKind, databaseScriptsDir } from "./engines";
import { createDatabaseServer, type DatabaseServer } from "./server";

async function renderServer(kind: DatabaseKind) {
  let server: DatabaseServer | undefined;
  const rendered = await render(() => {
    server = createDatabaseServer({
      kind,
      serverName: "cloud-a",
      provider: new k8s.Provider("cluster", { context: "test" }),
      storageSize: "5Gi",
      backup: exampleBackupConfig({ schedule: "15 3 * * *" }),
      kubeContext: "cloud-a",
    });
  });
  assert.deepEqual(rendered.errors, []);
  const resource = (type: string, name: string) => {
    const found = rendered.resources.find((candidate) => candidate.type === type && candidate.name === name);
    assert.ok(found, `no ${type} ${name}`);
    return found;
  };
  const podSpec = (kind_: string, name: string) => {
    const object = rendered.manifest(kind_, name);
    return kind_ === "CronJob" ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec;
  };
  const env = (kind_: string, name: string) =>
    Object.fromEntries(
      podSpec(kind_, name).containers[0].env.map((variable: Record<string, any>) => [
        variable.name,
        variable.value,
      ]),
    );
  const mountOf = (kind_: string, name: string, volume: string) =>
    podSpec(kind_, name).containers[0].volumeMounts.find(
      (mount: Record<string, string>) => mount.name === volume,
    );
  return { rendered, server: server as DatabaseServer, resource, env, mountOf };
}

describe("createDatabaseServer", () => {
  it("starts the server only after its restore job, and stops it before its final backup runs", async () => {
    const { resource } = await renderServer("postgresql");
    const deployment = resource("kubernetes:apps/v1:Deployment", "postgresql/postgresql");
    assert.ok(
      deployment.dependsOn.includes(resource("kubernetes:batch/v1:Job", "postgresql/postgresql-restore").urn),
    );
    assert.ok(
      deployment.dependsOn.includes(
        resource("command:local:Command", "postgresql/postgresql-final-backup").urn,
      ),
    );
    const final = resource("command:local:Command", "postgresql/postgresql-final-backup");
    assert.ok(
      final.dependsOn.includes(
        resource("kubernetes:core/v1:PersistentVolumeClaim", "postgresql/postgresql-data").urn,
      ),
    );
  });

  it("restores and takes the final backup through a private server on the server's own volume", async () => {
    for (const kind of ["postgresql", "mariadb", "mysql"] as const) {
      const { env, mountOf } = await renderServer(kind);
      const server = mountOf("Deployment", kind, `pvc-${kind}-data`);
      assert.deepEqual(mountOf("Job", `${kind}-restore`, `pvc-${kind}-data`), server);
      assert.deepEqual(mountOf("CronJob", `${kind}-final-backup`, `pvc-${kind}-data`), server);
      const restore = env("Job", `${kind}-restore`);
      assert.equal(restore.DB_HOST, "127.0.0.1");
      assert.equal(restore.DB_LIVE_HOST, `${kind}.${kind}.svc.cluster.local`);
      assert.equal(restore.RESTORE_PRESENT_HOOK, `/opt/scripts/${kind}-present-hook.sh`);
      assert.equal(restore.RESTORE_HOOK, `/opt/scripts/${kind}-restore-hook.sh`);
      // The server's own settings, so its entrypoint initialises the volume as the server would.
      for (const [name, value] of Object.entries(env("Deployment", kind)))
        assert.equal(restore[name], value, name);
    }
  });

  it("runs MySQL 8.4 as its image's user with root's password from a file, its data in the volume's data/, without a binary log or the X Protocol", async () => {
    const { rendered, env, mountOf } = await renderServer("mysql");
    const pod = rendered.manifest("Deployment", "mysql").spec.template.spec;
    const container = pod.containers[0];
    assert.deepEqual(
      [pod.securityContext.runAsUser, pod.securityContext.runAsGroup, pod.securityContext.fsGroup],
      [999, 999, 999],
    );
    assert.equal(container.image, images.mysql);
    assert.match(images.mysql, /^mysql:8\.4\.\d+$/);
    assert.deepEqual(container.args, [
      "mysqld",
      "--datadir=/var/lib/mysql/data",
      "--skip-log-bin",
      "--skip-mysqlx",
    ]);
    assert.deepEqual(env("Deployment", "mysql"), {
      MYSQL_ROOT_PASSWORD_FILE: "/secrets/database-admin/password",
    });
    assert.equal(mountOf("Deployment", "mysql", "pvc-mysql-data").mountPath, "/var/lib/mysql");
    assert.deepEqual(container.volumeMounts.map((mount: Record<string, string>) => mount.mountPath).sort(), [
      "/secrets/database-admin",
      "/tmp",
      "/var/lib/mysql",
      "/var/run/mysqld",
    ]);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(container.ports, [{ name: "mysql", containerPort: 3306, protocol: "TCP" }]);
  });

  it("starts its private server with the server's own program, data directory and options", async () => {
    for (const kind of ["mariadb", "mysql"] as const) {
      const { rendered, env } = await renderServer(kind);
      const args = rendered.manifest("Deployment", kind).spec.template.spec.containers[0].args;
      const restore = env("Job", `${kind}-restore`);
      const options = restore.DB_SERVER_OPTIONS ? restore.DB_SERVER_OPTIONS.split(" ") : [];
      assert.deepEqual(args, [args[0], `--datadir=${restore.DB_SERVER_DATADIR}`, ...options], kind);
      const lib = readFileSync(join(databaseScriptsDir, `${kind}-lib.sh`), "utf8");
      assert.match(lib, new RegExp(`SERVER_PROGRAM=${args[0]}\\b`), kind);
    }
  });

  it("dumps the running server over the network on the schedule, without touching its volume", async () => {
    const { env, mountOf, rendered } = await renderServer("mariadb");
    const scheduled = env("CronJob", "mariadb-backup");
    assert.equal(scheduled.DB_HOST, "mariadb.mariadb.svc.cluster.local");
    assert.equal(scheduled.BACKUP_HOOK, "/opt/scripts/mariadb-backup-hook.sh");
    assert.equal(scheduled.BACKUP_DIR, "/backup");
    assert.equal(mountOf("CronJob", "mariadb-backup", "pvc-mariadb-data"), undefined);
    assert.equal(rendered.manifest("CronJob", "mariadb-backup").spec.schedule, "15 3 * * *");
  });

  it("sets in its jobs only variables the scripts' README documents", async () => {
    const documented = documentedVariables();
    for (const kind of ["postgresql", "mariadb", "mysql"] as const) {
      const { env } = await renderServer(kind);
      for (const [objectKind, name] of [
        ["CronJob", `${kind}-backup`],
        ["CronJob", `${kind}-final-backup`],
        ["Job", `${kind}-restore`],
      ] as const) {
        for (const variable of Object.keys(env(objectKind, name))) {
          assert.ok(documented.has(variable), `${name}: ${variable} is not in the README`);
        }
      }
    }
  });

  it("runs the server and every job in the pinned image of its kind", async () => {
    const { rendered } = await renderServer("postgresql");
    for (const [kind, name] of [
      ["Deployment", "postgresql"],
      ["Job", "postgresql-restore"],
    ]) {
      const object = rendered.manifest(kind as string, name as string);
      assert.equal(object.spec.template.spec.containers[0].image, images.postgresql);
    }
    assert.equal(
      rendered.manifest("CronJob", "postgresql-backup").spec.jobTemplate.spec.template.spec.containers[0]
        .image,
      images.postgresql,
    );
  });

  it("ships the hooks, the private server's scripts and the restic scripts as they are tested", async () => {
    const { rendered } = await renderServer("postgresql");
    const offline = rendered.manifest("ConfigMap", "postgresql-offline-backup-scripts").data;
    const shipped: [string, string][] = [
      ...[
        "database-lib.sh",
        "postgresql-lib.sh",
        "postgresql-backup-hook.sh",
        "postgresql-present-hook.sh",
        "postgresql-restore-hook.sh",
      ]
        .concat(["private-server-lib.sh", "postgresql-server-start.sh", "postgresql-server-stop.sh"])
        .map((name): [string, string] => [name, join(databaseScriptsDir, name)]),
      ...["backup.sh", "restore.sh", "common.sh"].map((name): [string, string] => [
        name,
        join(resticScriptsDir, name),
      ]),
    ];
    for (const [name, path] of shipped) assert.equal(offline[name], readFileSync(path, "utf8"), name);
  });

  it("keeps its generated admin password in a Secret that the server and the jobs read as a file", async () => {
    const { rendered, env, mountOf } = await renderServer("postgresql");
    const file = env("Deployment", "postgresql").POSTGRES_PASSWORD_FILE;
    assert.equal(env("Job", "postgresql-restore").DB_PASSWORD_FILE, file);
    const mount = mountOf("Deployment", "postgresql", "secret-postgresql-admin");
    assert.equal(file, `${mount.mountPath}/password`);
    assert.match(rendered.manifest("Secret", "postgresql-admin").stringData.password, /^[\w-]{32}$/);
  });

  it("exports where the server answers and the admin Secret's name, never the password", async () => {
    const { server } = await renderServer("mariadb");
    assert.deepEqual(server.info, {
      kind: "mariadb",
      host: "mariadb.mariadb.svc.cluster.local",
      port: 3306,
      namespace: "mariadb",
      adminUser: "root",
      adminSecret: { name: "mariadb-admin", key: "password" },
      podLabels: { "app.kubernetes.io/name": "mariadb" },
    });
  });

  it("lets its backup jobs in, and them out to it, on its port", async () => {
    const { rendered } = await renderServer("postgresql");
    const port = [{ ports: [{ port: "5432", protocol: "TCP" }] }];
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "postgresql-from-backup-jobs").spec.ingress, [
      { fromEndpoints: [{ matchLabels: { "backup.infra/app": "postgresql" } }], toPorts: port },
    ]);
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "postgresql-backup-jobs-to-server").spec, {
      description: "The backup jobs of postgresql reach the server.",
      endpointSelector: { matchLabels: { "backup.infra/app": "postgresql" } },
      egress: [
        {
          toEndpoints: [
            {
              matchLabels: {
                "app.kubernetes.io/name": "postgresql",
                "k8s:io.kubernetes.pod.namespace": "postgresql",
              },
            },
          ],
          toPorts: port,
        },
      ],
    });
  });
});
