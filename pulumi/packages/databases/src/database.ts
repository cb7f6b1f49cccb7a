import { createHash } from "node:crypto";
import { createPolicy } from "@infra/cilium";
import {
  createJob,
  createSecret,
  getExistingNamespace,
  identityLabel,
  namespacedResourceName,
  secretKeyRef,
  type Workload,
} from "@infra/k8s";
import { createScriptBundle, scriptPod } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type DatabaseEngine, databaseScripts, engines } from "./engines";
import type { DatabaseServerInfo } from "./server";
import { connectionUrl } from "./url";

export interface AppDatabaseArgs {
  /**
   * Names the objects (a DNS label, unique in the app's namespace): the app's Secret is
   * `<name>-database`; the database and user are called `<name>` unless given.
   */
  name: string;
  /** The app's workload: the policies let it, and no other pod of its namespace, reach the server. */
  app: Workload;
  /** The database project's `server` export: `requireStackOutput("postgresql", "server")`. */
  server: pulumi.Input<DatabaseServerInfo>;
  /** The cluster's Kubernetes provider (the database job and a policy live in the server's namespace). */
  provider: k8s.Provider;
  /** The database's name (any text); `name` by default. */
  database?: string;
  /** The user's name (any text); `name` by default. */
  user?: string;
}

export interface AppDatabase {
  /** In the app's namespace: `url`, `host`, `port`, `database`, `username`, `password`. */
  secret: k8s.core.v1.Secret;
  /** Creates the database and user, and sets the password (idempotent; rerun when it changes). */
  job: k8s.batch.v1.Job;
  /** What the app's workload must depend on: its database exists before it starts. */
  dependsOn: pulumi.Resource[];
}

// One read of the server's namespace per provider, however many databases a program creates.
const serverNamespaces = new WeakMap<k8s.Provider, Map<string, k8s.core.v1.Namespace>>();

function serverNamespace(engine: DatabaseEngine, provider: k8s.Provider): k8s.core.v1.Namespace {
  const known = serverNamespaces.get(provider) ?? new Map<string, k8s.core.v1.Namespace>();
  serverNamespaces.set(provider, known);
  let namespace = known.get(engine.name);
  if (!namespace) {
    namespace = getExistingNamespace(engine.name, provider);
    known.set(engine.name, namespace);
  }
  return namespace;
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkName(engine: DatabaseEngine, what: string, value: string, maxBytes: number): void {
  if (value === "" || value.includes("\0") || Buffer.byteLength(value) > maxBytes) {
    throw new Error(`${engine.kind} ${what} "${value}": 1 to ${maxBytes} bytes, no NUL`);
  }
}

function createAppDatabase(engine: DatabaseEngine, args: AppDatabaseArgs): AppDatabase {
  const { app, name } = args;
  const database = args.database ?? name;
  const user = args.user ?? name;
  // PostgreSQL cuts longer identifiers silently, which would leave the URL naming another one.
  checkName(engine, "database", database, engine.kind === "postgresql" ? 63 : 64);
  checkName(engine, "user", user, engine.kind === "postgresql" ? 63 : 80);
  const appNamespace = namespacedResourceName({ name, namespace: app.namespace }).split("/")[0];
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

  const password = new random.RandomPassword(`${appNamespace}/${name}-database-password`, {
    length: 32,
    // Letters and digits: ~190 bits; the URL and the SQL quote any character anyway.
    special: false,
  });
  const namespace = serverNamespace(engine, args.provider);
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
        scripts: databaseScripts(engine.files.lib, engine.files.createDatabase),
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
        },
      },
    ],
  });
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
    ...scriptPod(bundle, { script: engine.files.createDatabase }),
  });

  createPolicy({
    name: `${name}-database-to-${engine.name}`,
    description: `${app.name} reaches its ${engine.kind} database.`,
    namespace: app.namespace,
    subject: { workload: app },
    egress: [{ peers: [{ endpoints: serverPods, namespace: server.namespace }], ports: port }],
  });
  createPolicy({
    name: `${prefix}-to-server`,
    description: `${engine.name} accepts ${app.name} of namespace ${appNamespace} and its database job.`,
    namespace,
    subject: { labels: serverPods },
    ingress: [{ peers: [{ workload: app }, { endpoints: { [identityLabel]: jobName } }], ports: port }],
  });
  createPolicy({
    name: `${jobName}-to-server`,
    description: `The database job of ${app.name} reaches ${engine.name}.`,
    namespace,
    subject: { labels: { [identityLabel]: jobName } },
    egress: [{ peers: [{ endpoints: serverPods }], ports: port }],
  });

  const secret = createSecret({
    name: `${name}-database`,
    namespace: app.namespace,
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
  return { secret, job, dependsOn: [job, secret] };
}

/**
 * Gives an app its own PostgreSQL database and login role, with its own generated password (never
 * the superuser's): a Job in the server's namespace creates them idempotently, a Secret in the
 * app's namespace holds the connection (`url` is percent-encoded), and policies let the app reach
 * the server (both directions). Make the app's workload depend on `dependsOn`.
 */
export function createPostgresqlDatabase(args: AppDatabaseArgs): AppDatabase {
  return createAppDatabase(engines.postgresql, args);
}

/** The same for MariaDB: a database and an account `'<user>'@'%'` with every privilege on it only. */
export function createMariadbDatabase(args: AppDatabaseArgs): AppDatabase {
  return createAppDatabase(engines.mariadb, args);
}
