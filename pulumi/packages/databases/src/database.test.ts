import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { createNamespace, createWorkload, selectorLabels } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { redactSecrets } from "@tools/synth/src/secrets";
import { render } from "@tools/synth/src/testing";
import {
  type AppDatabase,
  type AppDatabaseArgs,
  createMariadbDatabase,
  createMysqlDatabase,
  createPostgresqlDatabase,
} from "./database";
import { databaseScriptsDir } from "./engines";
import type { DatabaseServerInfo } from "./server";
import { exampleServerInfo } from "./testing/server-info";
import { connectionUrl } from "./url";

/** The database projects' `server` exports, as the app reads them. */
const postgresql = exampleServerInfo("postgresql");
const mariadb = exampleServerInfo("mariadb");
const mysql = exampleServerInfo("mysql");

async function renderDatabase(
  create: typeof createPostgresqlDatabase,
  server: DatabaseServerInfo,
  options: Partial<AppDatabaseArgs> = {},
  stack = "test",
) {
  const rendered = await render(
    () => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "notes", provider });
      // The database comes first; its client's policies select the pods by the labels the
      // workload will derive from its name.
      const database = create({ name: "notes", namespace, server, provider, ...options });
      const policies = database.allowClient({ name: "notes-worker", labels: selectorLabels("notes-worker") });
      createWorkload({
        name: "notes-worker",
        namespace,
        container: { image: "example/notes:1.0" },
        options: { dependsOn: [...database.dependsOn, ...policies] },
      });
    },
    { stack },
  );
  const env = (name: string) =>
    Object.fromEntries(
      rendered
        .manifest("Job", name)
        .spec.template.spec.containers[0].env.map((variable: Record<string, any>) => [
          variable.name,
          variable.value ?? variable.valueFrom,
        ]),
    );
  return { rendered, env };
}

describe("createPostgresqlDatabase", () => {
  it("puts the connection, with a percent-encoded URL, into a Secret in the app's namespace", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql, {
      database: "notes_db",
      user: "notes@app",
    });
    const secret = rendered.manifest("Secret", "notes-database");
    assert.equal(secret.metadata.namespace, "notes");
    const { password } = secret.stringData;
    assert.match(password, /^[\w-]{20,}$/);
    assert.deepEqual(secret.stringData, {
      url: connectionUrl({
        scheme: "postgresql",
        user: "notes@app",
        password,
        host: "postgresql.postgresql.svc.cluster.local",
        port: 5432,
        database: "notes_db",
      }),
      host: "postgresql.postgresql.svc.cluster.local",
      port: "5432",
      database: "notes_db",
      username: "notes@app",
      password,
    });
    assert.match(
      secret.stringData.url,
      /^postgresql:\/\/notes%40app:[\w-]+@postgresql\.postgresql\.svc\.cluster\.local:5432\/notes_db$/,
    );
  });

  it("creates the database with a job in the server's namespace, logging in as the admin by reference", async () => {
    const { rendered, env } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const job = rendered.manifest("Job", "notes-notes-database");
    assert.equal(job.metadata.namespace, "postgresql");
    const variables = env("notes-notes-database");
    assert.deepEqual(variables.DB_ADMIN_PASSWORD, {
      secretKeyRef: { name: "postgresql-admin", key: "password" },
    });
    assert.deepEqual(variables.APP_PASSWORD, {
      secretKeyRef: { name: "notes-notes-database-password", key: "password" },
    });
    assert.equal(variables.DB_HOST, "postgresql.postgresql.svc.cluster.local");
    assert.equal(variables.DB_USER, "postgres");
    assert.deepEqual([variables.APP_DATABASE, variables.APP_USER], ["notes", "notes"]);
    assert.deepEqual(job.spec.template.spec.containers[0].command.slice(-1), [
      "postgresql-create-database.sh",
    ]);
  });

  it("leaves a database in the server's backup unless its app backs it up itself", async () => {
    const { env } = await renderDatabase(createPostgresqlDatabase, postgresql);
    assert.equal(env("notes-notes-database").APP_DATABASE_BACKUP, "server");
    const byApp = await renderDatabase(createPostgresqlDatabase, postgresql, { backedUpByApp: true });
    assert.equal(byApp.env("notes-notes-database").APP_DATABASE_BACKUP, "app");
  });

  it("gives the app its own generated password, which the job sets, never the admin's", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const appPassword = rendered.manifest("Secret", "notes-database").stringData.password;
    const jobPassword = rendered.manifest("Secret", "notes-notes-database-password");
    assert.equal(jobPassword.metadata.namespace, "postgresql");
    assert.deepEqual(jobPassword.stringData, { password: appPassword });
    assert.equal(
      rendered.resources.some(
        (resource) => resource.type === "kubernetes:core/v1:Secret" && resource.name.endsWith("-admin"),
      ),
      false,
    );
  });

  it("ships the create-database script and the libraries it sources, as they are tested", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const data = rendered.manifest("ConfigMap", "notes-notes-database-scripts").data;
    for (const name of ["postgresql-create-database.sh", "postgresql-lib.sh", "database-lib.sh"]) {
      assert.equal(data[name], readFileSync(join(databaseScriptsDir, name), "utf8"));
    }
  });

  it("runs the job again when the password changes, without showing it", async () => {
    const annotation = async (stack: string) => {
      const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql, {}, stack);
      const password = rendered.manifest("Secret", "notes-database").stringData.password;
      const value = rendered.manifest("Job", "notes-notes-database").spec.template.metadata.annotations[
        "checksum.infra/password"
      ];
      assert.ok(!value.includes(password) && !password.includes(value));
      return value;
    };
    // Two stacks: two generated passwords.
    assert.notEqual(await annotation("cloud-a"), await annotation("cloud-b"));
  });

  it("lets each client reach the server on its port, and the server accept the clients and the job only", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const port = [{ ports: [{ port: "5432", protocol: "TCP" }] }];
    const server = { matchLabels: { "app.kubernetes.io/name": "postgresql" } };
    const egress = rendered.manifest("CiliumNetworkPolicy", "notes-worker-to-postgresql");
    assert.equal(egress.metadata.namespace, "notes");
    assert.deepEqual(egress.spec.endpointSelector, {
      matchLabels: { "app.kubernetes.io/name": "notes-worker" },
    });
    assert.deepEqual(egress.spec.egress, [
      {
        toEndpoints: [
          { matchLabels: { ...server.matchLabels, "k8s:io.kubernetes.pod.namespace": "postgresql" } },
        ],
        toPorts: port,
      },
    ]);
    const ingress = rendered.manifest("CiliumNetworkPolicy", "postgresql-from-notes-notes-worker");
    assert.equal(ingress.metadata.namespace, "postgresql");
    assert.deepEqual(ingress.spec.endpointSelector, server);
    assert.deepEqual(ingress.spec.ingress, [
      {
        fromEndpoints: [
          {
            matchLabels: {
              "app.kubernetes.io/name": "notes-worker",
              "k8s:io.kubernetes.pod.namespace": "notes",
            },
          },
        ],
        toPorts: port,
      },
    ]);
    const job = rendered.manifest("CiliumNetworkPolicy", "postgresql-from-notes-notes-database");
    assert.deepEqual(job.spec.ingress, [
      {
        fromEndpoints: [{ matchLabels: { "app.kubernetes.io/name": "notes-notes-database" } }],
        toPorts: port,
      },
    ]);
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "notes-notes-database-to-server").spec.egress, [
      { toEndpoints: [server], toPorts: port },
    ]);
  });

  it("starts the database job only once the server lets it in", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const find = (type: string, name: string) =>
      rendered.resources.find((resource) => resource.type === type && resource.name === name);
    const job = find("kubernetes:batch/v1:Job", "postgresql/notes-notes-database");
    for (const policy of ["notes-notes-database-to-server", "postgresql-from-notes-notes-database"]) {
      const urn = find("kubernetes:cilium.io/v2:CiliumNetworkPolicy", `postgresql/${policy}`)?.urn ?? "";
      assert.ok(job?.dependsOn.includes(urn), policy);
    }
  });

  it("dumps and loads the database in the app's backups with the app's credentials, never the admin's", async () => {
    let hooks: AppDatabase["backupHooks"] | undefined;
    await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "notes", provider });
      hooks = createPostgresqlDatabase({
        name: "notes",
        namespace,
        server: postgresql,
        provider,
      }).backupHooks;
    });
    const env = hooks?.environment.env ?? {};
    assert.deepEqual(
      [env.DB_USER, env.DB_DATABASES, env.DB_PASSWORD_FILE],
      ["notes", "notes", "/secrets/database/password"],
    );
    assert.equal(hooks?.online, undefined);
    assert.equal(hooks?.offline, undefined);
    assert.deepEqual(
      [hooks?.backup, hooks?.present, hooks?.restore],
      ["postgresql-backup-hook.sh", "postgresql-present-hook.sh", "postgresql-restore-hook.sh"],
    );
  });

  it("makes a client's workload depend on the database job", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const find = (type: string, name: string) =>
      rendered.resources.find((resource) => resource.type === type && resource.name === name);
    const job = find("kubernetes:batch/v1:Job", "postgresql/notes-notes-database");
    assert.ok(
      find("kubernetes:apps/v1:Deployment", "notes/notes-worker")?.dependsOn.includes(job?.urn ?? ""),
    );
  });

  it("never leaves a password in plain text in what synth writes", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql);
    const password = rendered.manifest("Secret", "notes-database").stringData.password;
    const written = JSON.stringify(rendered.resources.map((resource) => redactSecrets(resource.inputs)));
    assert.equal(written.includes(password), false);
  });

  it("gives one app several databases on one server without clashing objects", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "notes", provider });
      createPostgresqlDatabase({ name: "notes", namespace, server: postgresql, provider });
      createPostgresqlDatabase({ name: "search", namespace, server: postgresql, provider });
    });
    assert.deepEqual(rendered.errors, []);
    assert.equal(rendered.manifest("Job", "notes-search-database").metadata.namespace, "postgresql");
    assert.equal(rendered.manifest("Secret", "search-database").metadata.namespace, "notes");
  });

  it("refuses a server of another kind", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, mariadb);
    assert.match(rendered.errors.join("\n"), /the server given is mariadb, not postgresql/);
  });

  it("refuses a database name its dump could not be a file of", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql, { database: "notes/db" });
    assert.match(rendered.errors.join("\n"), /database "notes\/db": letters, digits/);
  });

  it("refuses a name PostgreSQL would cut short", async () => {
    const { rendered } = await renderDatabase(createPostgresqlDatabase, postgresql, {
      database: "x".repeat(64),
    });
    assert.match(rendered.errors.join("\n"), /postgresql database "x+": 1 to 63 bytes/);
  });
});

describe("createMariadbDatabase", () => {
  it("gives the app a mysql:// URL to its database on the MariaDB server", async () => {
    const { rendered, env } = await renderDatabase(createMariadbDatabase, mariadb);
    const { url, password } = rendered.manifest("Secret", "notes-database").stringData;
    assert.equal(url, `mysql://notes:${password}@mariadb.mariadb.svc.cluster.local:3306/notes`);
    assert.deepEqual(env("notes-notes-database").DB_ADMIN_PASSWORD, {
      secretKeyRef: { name: "mariadb-admin", key: "password" },
    });
    assert.equal(rendered.manifest("Job", "notes-notes-database").metadata.namespace, "mariadb");
  });
});

describe("createMysqlDatabase", () => {
  it("gives the app a mysql:// URL to its database on the MySQL server, made by MySQL's script as its admin", async () => {
    const { rendered, env } = await renderDatabase(createMysqlDatabase, mysql);
    const { url, password } = rendered.manifest("Secret", "notes-database").stringData;
    assert.equal(url, `mysql://notes:${password}@mysql.mysql.svc.cluster.local:3306/notes`);
    const job = rendered.manifest("Job", "notes-notes-database");
    assert.equal(job.metadata.namespace, "mysql");
    assert.deepEqual(job.spec.template.spec.containers[0].command.slice(-1), ["mysql-create-database.sh"]);
    assert.equal(job.spec.template.spec.containers[0].image, images.mysql);
    assert.deepEqual(env("notes-notes-database").DB_ADMIN_PASSWORD, {
      secretKeyRef: { name: "mysql-admin", key: "password" },
    });
    assert.equal(env("notes-notes-database").DB_USER, "root");
  });

  it("ships MySQL's scripts with the library it shares with MariaDB's, as they are tested", async () => {
    const { rendered } = await renderDatabase(createMysqlDatabase, mysql);
    const data = rendered.manifest("ConfigMap", "notes-notes-database-scripts").data;
    for (const name of [
      "mysql-create-database.sh",
      "mysql-lib.sh",
      "mysql-family-lib.sh",
      "database-lib.sh",
    ]) {
      assert.equal(data[name], readFileSync(join(databaseScriptsDir, name), "utf8"), name);
    }
  });

  it("refuses a user name longer than MySQL's 32 characters", async () => {
    const { rendered } = await renderDatabase(createMysqlDatabase, mysql, { user: "u".repeat(33) });
    assert.match(rendered.errors.join("\n"), /mysql user "u+": 1 to 32 bytes/);
  });

  it("refuses a server of another kind", async () => {
    const { rendered } = await renderDatabase(createMysqlDatabase, mariadb);
    assert.match(rendered.errors.join("\n"), /the server given is mariadb, not mysql/);
  });
});
