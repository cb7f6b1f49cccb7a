import { createHash } from "node:crypto";
import { createPolicy } from "@infra/cilium";
import {
  createJob,
  createSecret,
  emptyDir,
  getExistingNamespace,
  identityLabel,
  namespacedResourceName,
  secretKeyRef,
} from "@infra/k8s";
import type { BackupHooks, DrillHooks } from "@infra/restic";
import { createScriptBundle, scriptPod } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type DatabaseEngine, type DatabaseKind, databaseScripts, engines } from "./engines";
import type { DatabaseServerInfo } from "./server";
import { connectionUrl } from "./url";

export interface AppDatabaseArgs {
  /**
   * Names the objects (a DNS label, unique in the app's namespace): the app's Secret is
   * `<name>-database`; the database and user are called `<name>` unless given.
   */
  name: string;
  /** The app's namespace: its Secret lives there, and so do the pods `allowClient` lets in. */
  namespace: k8s.core.v1.Namespace;
  /** The database project's `server` export: `requireStackOutput("postgresql", "server")`. */
  server: pulumi.Input<DatabaseServerInfo>;
  /** The cluster's Kubernetes provider (the database job and a policy live in the server's namespace). */
  provider: k8s.Provider;
  /** The database's name; `name` by default. Letters, digits, "_" and "-": its dump is a file. */
  database?: string;
  /** The user's name (any text); `name` by default. */
  user?: string;
  /** The parent of what is made outside the app's namespace (the app's component). */
  parent?: pulumi.Resource;
  /**
   * Whether the app's own backups hold the database (with `backupHooks`): the server's backup
   * then leaves it out, so a restored server never brings it back beside the app's own copy.
   * @default false
   */
  backedUpByApp?: boolean;
}

/** Pods of the app's namespace that use the database, by the labels that select them. */
export interface DatabaseClient {
  /** Names the policies (a DNS label): the workload's name, or `backup` for the app's backup jobs. */
  name: string;
  /** Their identity labels. */
  labels: Record<string, string>;
}

export interface AppDatabase {
  kind: DatabaseKind;
  /** The database's and the user's names. */
  database: string;
  user: string;
  /** In the app's namespace: `url`, `host`, `port`, `database`, `username`, `password`. */
  secret: k8s.core.v1.Secret;
  /** Creates the database and user, and sets the password (idempotent; rerun when it changes). */
  job: k8s.batch.v1.Job;
  /** What a workload using the database must depend on: it exists before it starts. */
  dependsOn: pulumi.Resource[];
  /**
   * Lets a client's pods reach the server on its port, and the server accept them: one policy on
   * each side, selecting the client by its labels (so it may be called before its workload exists).
   */
  allowClient(client: DatabaseClient): k8s.apiextensions.CustomResource[];
  /**
   * Hooks that dump and restore this database with the app's own credentials (never the
   * admin's), for the app's backup jobs (`createJobPair`); the jobs must be a client.
   */
  backupHooks: BackupHooks;
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// The dump of a database is `<database>.pgdump` and the hooks take a list of names.
const dumpableName = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

function checkName(engine: DatabaseEngine, what: string, value: string, maxBytes: number): void {
  if (value === "" || value.includes("\0") || Buffer.byteLength(value) > maxBytes) {
    throw new Error(`${engine.kind} ${what} "${value}": 1 to ${maxBytes} bytes, no NUL`);
  }
}

/** Where an app's backup jobs read the database Secret (its `password` file among them). */
export const appDatabaseSecretDir = "/secrets/database";

/**
 * The restore drill's database part for an app's database: a throwaway server of the engine's image
 * in the drill's pod, on scratch (emptyDir) data and run directories, with a new admin password
 * drill.sh writes; the engine's create-database script creates the app's (empty) database and
 * account on it, the restore hook loads the dump as the admin, and the present hook queries it.
 * Nothing of it reaches the app's real server.
 */
export function drillHooks(engine: DatabaseEngine, names: { database: string; user: string }): DrillHooks {
  const { files } = engine;
  const passwordFile = `${engine.runDir}/drill-admin-password`;
  return {
    environment: {
      name: `${engine.kind}-drill-server`,
      image: engine.image,
      scripts: databaseScripts(
        ...files.libraries,
        "private-server-lib.sh",
        files.present,
        files.restore,
        files.start,
        files.stop,
        files.createDatabase,
      ),
      env: {
        DB_HOST: "127.0.0.1",
        DB_PORT: String(engine.port),
        DB_USER: engine.adminUser,
        DB_PASSWORD_FILE: passwordFile,
        DB_DATABASES: names.database,
        DB_SERVER_SCRATCH: "true",
        APP_DATABASE: names.database,
        APP_USER: names.user,
        ...engine.serverEnv(passwordFile),
        ...engine.privateServerEnv,
      },
      mounts: [
        { volume: emptyDir("drill-database"), mountPath: engine.dataMount },
        { volume: emptyDir("drill-database-run"), mountPath: engine.runDir },
      ],
    },
    start: files.start,
    stop: files.stop,
    prepare: files.createDatabase,
    passwordFile,
  };
}

function createAppDatabase(engine: DatabaseEngine, args: AppDatabaseArgs): AppDatabase {
  const { name } = args;
  const database = args.database ?? name;
  const user = args.user ?? name;
  checkName(engine, "database", database, engine.maxNameBytes.database);
  checkName(engine, "user", user, engine.maxNameBytes.user);
  if (!dumpableName.test(database)) {
    throw new Error(
      `${engine.kind} database "${database}": letters, digits, "_" and "-" (its dump is a file)`,
    );
  }
  const appNamespace = namespacedResourceName({ name, namespace: args.namespace }).split("/")[0];
  // Objects in the server's namespace carry the app's namespace: apps of two namespaces may share a name.
  const prefix = `${appNamespace}-${name}`;
  const jobName = `${prefix}-database`;
  if (!dnsLabel.test(name) || !dnsLabel.test(jobName)) {
    throw new Error(`Database "${name}" of namespace ${appNamespace}: "${jobName}" must be a DNS label`);
  }
  const server = pulumi.output(args.server).apply((info) => {
    if (info.kind !== engine.kind) {
      throw new Error(`Database "${name}": the server given is ${info.kind}, not ${engine.kind}`);
    }
    return info;
  });
  const serverPods = { [identityLabel]: server.apply((info) => info.podLabels[identityLabel] ?? "") };
  const port = [{ port: engine.port }];
  const parent = args.parent ? { parent: args.parent } : {};

  const password = new random.RandomPassword(
    `${appNamespace}/${name}-database-password`,
    // Letters and digits: ~190 bits; the URL and the SQL quote any character anyway.
    { length: 32, special: false },
    parent,
  );
  const namespace = getExistingNamespace(engine.name, args.provider, args.parent);
  const credentials = createSecret({
    name: `${prefix}-database-password`,
    namespace,
    stringData: { password: password.result },
  });
  const bundle = createScriptBundle({
    name: `${prefix}-database-scripts`,
    namespace,
    environments: [
      {
        name: `${engine.kind}-create-database`,
        image: engine.image,
        scripts: databaseScripts(...engine.files.libraries, engine.files.createDatabase),
        env: {
          DB_HOST: server.host,
          DB_PORT: server.port.apply(String),
          DB_USER: server.adminUser,
          // By reference: the admin password stays in the server's namespace, out of the app's stack.
          DB_ADMIN_PASSWORD: {
            valueFrom: { secretKeyRef: { name: server.adminSecret.name, key: server.adminSecret.key } },
          },
          APP_DATABASE: database,
          APP_USER: user,
          APP_PASSWORD: secretKeyRef(credentials, "password"),
          APP_DATABASE_BACKUP: args.backedUpByApp ? "app" : "server",
        },
      },
    ],
  });
  const jobPods = { [identityLabel]: jobName };
  // The job logs in only once the server lets it in.
  const jobPolicies = [
    createPolicy({
      name: `${jobName}-to-server`,
      description: `The database job of ${name} (namespace ${appNamespace}) reaches ${engine.name}.`,
      namespace,
      subject: { labels: jobPods },
      egress: [{ peers: [{ endpoints: serverPods }], ports: port }],
    }),
    createPolicy({
      name: `${engine.name}-from-${jobName}`,
      description: `${engine.name} accepts the database job of ${name} (namespace ${appNamespace}).`,
      namespace,
      subject: { labels: serverPods },
      ingress: [{ peers: [{ endpoints: jobPods }], ports: port }],
    }),
  ];
  const job = createJob({
    name: jobName,
    namespace,
    backoffLimit: 3,
    // A new password changes the pod template, so the job runs again and sets it.
    podAnnotations: {
      "checksum.infra/password": password.result.apply((value) =>
        createHash("sha256").update(value).digest("hex").slice(0, 16),
      ),
    },
    // In the server's namespace, as the server's user: it only runs the client tools.
    ...scriptPod(bundle, { script: engine.files.createDatabase, runAs: engine.user }),
    options: { dependsOn: jobPolicies },
  });

  const secret = createSecret({
    name: `${name}-database`,
    namespace: args.namespace,
    stringData: {
      url: pulumi.all([server, password.result]).apply(([info, secretPassword]) =>
        connectionUrl({
          scheme: engine.urlScheme,
          user,
          password: secretPassword,
          host: info.host,
          port: info.port,
          database,
        }),
      ),
      host: server.host,
      port: server.port.apply(String),
      database,
      username: user,
      password: password.result,
    },
  });

  const allowClient = (client: DatabaseClient): k8s.apiextensions.CustomResource[] => {
    if (!dnsLabel.test(client.name))
      throw new Error(`Database client "${client.name}" needs a DNS label name`);
    return [
      createPolicy({
        name: `${client.name}-to-${engine.name}`,
        description: `${client.name} reaches its ${engine.kind} database ${database}.`,
        namespace: args.namespace,
        subject: { labels: client.labels },
        egress: [{ peers: [{ endpoints: serverPods, namespace: server.namespace }], ports: port }],
      }),
      createPolicy({
        name: `${engine.name}-from-${appNamespace}-${client.name}`,
        description: `${engine.name} accepts ${client.name} of namespace ${appNamespace}.`,
        namespace,
        subject: { labels: serverPods },
        ingress: [{ peers: [{ endpoints: client.labels, namespace: appNamespace }], ports: port }],
      }),
    ];
  };

  const { files } = engine;
  const backupHooks: BackupHooks = {
    environment: {
      name: `${engine.kind}-app-database`,
      image: engine.image,
      scripts: databaseScripts(...files.libraries, files.backup, files.present, files.restore),
      env: {
        DB_HOST: server.host,
        DB_PORT: server.port.apply(String),
        DB_USER: user,
        DB_PASSWORD_FILE: `${appDatabaseSecretDir}/password`,
        DB_DATABASES: database,
      },
      mounts: [{ volume: secret, mountPath: appDatabaseSecretDir, defaultMode: 0o400 }],
    },
    backup: files.backup,
    present: files.present,
    restore: files.restore,
    drill: drillHooks(engine, { database, user }),
  };

  return {
    kind: engine.kind,
    database,
    user,
    secret,
    job,
    dependsOn: [job, secret],
    allowClient,
    backupHooks,
  };
}

/**
 * Gives an app its own PostgreSQL database and login role, with its own generated password (never
 * the superuser's): a Job in the server's namespace creates them idempotently, a Secret in the
 * app's namespace holds the connection (`url` is percent-encoded), and `allowClient` opens the
 * way for the pods that use it. Make those pods' workload depend on `dependsOn`.
 */
export function createPostgresqlDatabase(args: AppDatabaseArgs): AppDatabase {
  return createAppDatabase(engines.postgresql, args);
}

/** The same for MariaDB: a database and an account `'<user>'@'%'` with every privilege on it only. */
export function createMariadbDatabase(args: AppDatabaseArgs): AppDatabase {
  return createAppDatabase(engines.mariadb, args);
}

/**
 * The same for MySQL 8.4: a database and an account `'<user>'@'%'` (MySQL's default plugin,
 * caching_sha2_password) with every privilege on it only.
 */
export function createMysqlDatabase(args: AppDatabaseArgs): AppDatabase {
  return createAppDatabase(engines.mysql, args);
}
