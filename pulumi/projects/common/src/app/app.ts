import type { AppSecretsSpec } from "@infra/app-secrets";
import { ConfigError } from "@infra/core";
import {
  type AppDatabase,
  createMariadbDatabase,
  createMysqlDatabase,
  createPostgresqlDatabase,
  type DatabaseKind,
  type DatabaseServerInfo,
} from "@infra/databases";
import {
  createNamespace,
  createPersistentVolumeClaim,
  createSecret,
  type EnvValueFrom,
  secretKeyRef,
} from "@infra/k8s";
import {
  type AppBucketKey,
  type AppBucketSpec,
  createAppBucketKey,
  createAppBucketsJob,
  type ObjectStoreInfo,
} from "@infra/object-storage";
import {
  type BackupEntry,
  type BackupVolume,
  backupPodLabels,
  createBackupRepository,
  createJobPair,
  type JobPair,
} from "@infra/restic";
import type { RunAs } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { getBackupConfig } from "../backup";
import { getKubernetesProvider } from "../kubernetes";
import { getSharedEnvironment } from "../shared";
import { requireStackOutput } from "../stack-reference";
import {
  type AppBucketArgs,
  type AppBucketRefs,
  type BucketAccess,
  type ExternalBucket,
  externalBucketKeys,
  externalEndpoint,
  readExternalBuckets,
  registerBucketRef,
} from "./bucket";
import { type AppJob, type AppJobArgs, createAppJob } from "./job";
import { appOnThisStack } from "./placement";
import { type AppServiceReach, ServiceReaches } from "./reach";
import { type AppService, type AppServiceArgs, createAppService, registerDatabaseRef } from "./service";
import { type OpenSecretsFile, openAppSecrets, readBackupCredentials } from "./stable-secrets";
import { type AppWorker, type AppWorkerArgs, createAppWorker } from "./worker";

export interface AppArgs {
  /** The app's name (a DNS label): its namespace, the root of its resources and its backup repository. */
  name: string;
  /**
   * The user and group (never root) the app's processes run as and its files belong to, usually
   * the image's own: every service of the app runs as them, and so do its backup, restore and
   * final-backup jobs, which then read every file and give restored files back to the app.
   */
  user: RunAs;
}

export interface AppVolumeArgs {
  /** The claim's name in the app's namespace (a DNS label), also its directory in the app's backups. */
  name: string;
  /**
   * Its size (for example `"5Gi"`) and storage class (the cluster's default, k3s: local-path,
   * when omitted): what a project's `storage` config (`storageConfig()`) gives.
   */
  storage: { size: string; className?: string | undefined };
  /**
   * Whether the app's backups hold it (restored before the app starts, backed up on the schedule
   * and finally when the app is destroyed); `{ exclude }` leaves out paths the app rebuilds itself.
   * @default true
   */
  backup?: boolean | { exclude: string[] };
}

/** The app's own database, as its containers use it: each field is an environment value. */
export interface AppDatabaseRefs {
  kind: DatabaseKind;
  /** `postgresql://` or `mysql://` URL, user, password and database percent-encoded. */
  url: EnvValueFrom;
  host: EnvValueFrom;
  port: EnvValueFrom;
  database: EnvValueFrom;
  username: EnvValueFrom;
  password: EnvValueFrom;
  /** The Secret holding them (mount it where an app reads files). */
  secret: k8s.core.v1.Secret;
}

export interface AppSecretArgs {
  /** The Secret's name in the app's namespace. */
  name: string;
  /** Its entries; they are stored as Pulumi secrets. */
  stringData: Record<string, pulumi.Input<string>>;
}

/** An app's stable secrets: their values (for outputs) and the Secret its containers read them from. */
export interface AppStableSecrets<Keys extends string> {
  values: Record<Keys, pulumi.Output<string>>;
  secret: k8s.core.v1.Secret;
  /** An environment value read from the Secret. */
  ref(key: Keys): EnvValueFrom;
}

/** What an app is made of; every method creates what the app's workloads will use, before them. */
export interface App {
  readonly name: string;
  /** The app's namespace, named after it. */
  readonly namespace: k8s.core.v1.Namespace;
  /** The component every resource of the app sits under (`pulumi preview` shows the app as one tree). */
  readonly component: pulumi.ComponentResource;
  /**
   * Its own database and user on the stack's server of that kind (the `postgresql`, `mariadb` or
   * `mysql` project), with a generated password. The app's backups dump it with the app's
   * credentials; a service whose containers reference it may reach it, and waits for it.
   */
  database(kind: DatabaseKind): AppDatabaseRefs;
  /**
   * A bucket of its own on the stack's object store (the `object-storage` project), with the
   * app's key (one per app, generated, allowed to read and write each of the app's buckets and to
   * own none) and the CORS its users' browsers need. A service whose containers reference the
   * key (or that lists the bucket in `buckets`) may reach the store's endpoint, and waits for the
   * buckets. Its objects are backed up with the store, not in the app's repository.
   */
  bucket(args: AppBucketArgs): AppBucketRefs;
  /** A volume; by default backed up with the app. */
  volume(args: AppVolumeArgs): k8s.core.v1.PersistentVolumeClaim;
  /** A Secret of values the app is given (config secrets, derived values). */
  secret(args: AppSecretArgs): k8s.core.v1.Secret;
  /**
   * The secrets the app's data depends on, generated once for the app (not per server) and kept
   * encrypted in `secrets/apps/<app>.yaml`, in a Secret `<app>-stable` (without the file's backup
   * secrets, which only the backup jobs' Secrets hold).
   */
  stableSecrets<Spec extends AppSecretsSpec>(spec: Spec): AppStableSecrets<Extract<keyof Spec, string>>;
  /**
   * A Job its services wait for (a setup or migration step), with the policies to the databases
   * its containers reference, created after the app's restore, its database, those policies and
   * (by default) the app's earlier jobs, so jobs created one after the other run in that order.
   */
  job(args: AppJobArgs): AppJob;
  /**
   * A workload and its Service, with exactly the policies it needs (its database, its declared
   * egress, its gateways, the services it reaches), created after the app's restore, its
   * database, (by default) every job created before it and those policies.
   */
  service(args: AppServiceArgs): AppService;
  /**
   * A process that serves nothing (a queue's worker, a scheduler): its workload, with the policies
   * it needs to what it uses and calls, created after what a service would be.
   */
  worker(args: AppWorkerArgs): AppWorker;
  /** The app's backups, for the stack's `backups` export (`task backup:status`, `task migrate`). */
  backups(): AppBackupEntry[];
}

/** An app's backups as its project exports them: with its database, which a migration removes from the source. */
export interface AppBackupEntry extends BackupEntry {
  database?: { kind: DatabaseKind; name: string; user: string };
  /** The app's buckets on its server's object store, which the store's own backups hold (a migration does not move them). */
  buckets?: string[];
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

interface VolumeEntry {
  claim: k8s.core.v1.PersistentVolumeClaim;
  backup: BackupVolume | undefined;
}

/**
 * Starts an app: its component and namespace. Then create what it uses (`database`, `volume`,
 * `secret`, `stableSecrets`), its `job`s and, last, its `service`s: the first job or service makes
 * the app's backups (one repository for its volumes and its database dump, restored before any
 * workload starts), so everything they hold must exist by then.
 */
export function createApp(args: AppArgs): App {
  const { name } = args;
  if (!dnsLabel.test(name)) throw new Error(`App "${name}": its name must be a DNS label`);
  const here = appOnThisStack(name);
  if (!here.runs) {
    throw new Error(
      `App ${name} is not placed on stack ${pulumi.getStack()} (pulumi/placement.yaml): its project creates it inside whenPlaced()`,
    );
  }
  const component = new pulumi.ComponentResource("homelab:apps:App", name, {}, {});
  const provider = getKubernetesProvider();
  const namespace = createNamespace({ name, provider, options: { parent: component } });
  const volumes: VolumeEntry[] = [];
  const databases = new Map<DatabaseKind, AppDatabase>();
  const jobs: AppJob[] = [];
  // Jobs and services select their pods by their name: no two may share one.
  const workloads = new Set<string>();
  const claim = (workload: string) => {
    if (workloads.has(workload))
      throw new Error(`App ${name} already has a job or service named ${workload}`);
    workloads.add(workload);
  };
  const reaches = new ServiceReaches(name, namespace);
  let backups: JobPair | null | undefined;
  let bucketKey: AppBucketKey | undefined;
  const bucketSpecs: AppBucketSpec[] = [];
  const bucketAccesses: BucketAccess[] = [];
  const bucketNames = new Set<string>();
  let bucketsJob: k8s.batch.v1.Job | null | undefined;
  // The project's externalBuckets config, read once: by the first bucket, or by the first job or service.
  let configuredBuckets: Record<string, ExternalBucket> | undefined;
  // The buckets job runs once the app's buckets are all known: before its first job or service.
  const ensureBuckets = () => {
    if (bucketsJob === undefined) {
      configuredBuckets ??= readExternalBuckets();
      const unknown = Object.keys(configuredBuckets).filter((bucket) => !bucketNames.has(bucket));
      if (unknown.length > 0) {
        throw new ConfigError(
          `Stack "${pulumi.getStack()}" sets ${unknown.map((bucket) => `${name}:${externalBucketKeys.buckets}.${bucket}`).join(", ")}, ` +
            `which names no bucket of ${name} (its buckets: ${[...bucketNames].join(", ") || "none"})`,
        );
      }
      bucketsJob =
        bucketKey && bucketSpecs.length > 0
          ? createAppBucketsJob({ key: bucketKey, buckets: bucketSpecs, provider, parent: component })
          : null;
    }
    return bucketAccesses.length > 0
      ? { accesses: bucketAccesses, storeJob: bucketsJob ?? undefined }
      : undefined;
  };
  let stable: AppStableSecrets<string> | undefined;
  // One decryption of secrets/apps/<app>.yaml serves the stable secrets and the backups.
  let secretsFile: OpenSecretsFile | undefined;
  const appSecrets = () => {
    secretsFile ??= openAppSecrets(name, component);
    return secretsFile;
  };

  const whileOpen = (what: string) => {
    if (backups !== undefined) {
      throw new Error(
        `App ${name}: ${what} is created after the app's first service or job, whose backups could not hold it; ` +
          "create volumes, databases and secrets before jobs and services",
      );
    }
  };

  const ensureBackups = (): JobPair | null => {
    if (backups !== undefined) return backups;
    const backed = volumes.flatMap((volume) => (volume.backup ? [volume.backup] : []));
    const [database, ...others] = [...databases.values()];
    if (others.length > 0) throw new Error(`App ${name}: one database per app is backed up`);
    if (backed.length === 0 && !database) {
      backups = null;
      return backups;
    }
    // The repository's own password and storage key, the same on every server the app runs on.
    const config = getBackupConfig(readBackupCredentials(appSecrets()));
    // The jobs dump and load the database with the app's credentials: they are one of its clients.
    const requires = database
      ? [...database.dependsOn, ...database.allowClient({ name: "backup", labels: backupPodLabels(name) })]
      : [];
    backups = createJobPair({
      app: name,
      namespace,
      volumes: backed,
      ...(database ? { hooks: database.backupHooks } : {}),
      requires,
      schedule: config.schedule,
      ...(config.drillSchedule ? { drillSchedule: config.drillSchedule } : {}),
      retention: config.retention,
      repository: createBackupRepository({ namespace, config }),
      kubeContext: getSharedEnvironment().server.apply((server) => server.kubeContext),
      server: getSharedEnvironment().server.apply((server) => server.name),
      // A migration's target restores exactly its verified final snapshot.
      ...(here.restore ? { restore: here.restore } : {}),
      // Stopped for its migration: nothing may back it up after its final backup.
      ...(here.stopped ? { sourceOfMigration: true } : {}),
      runAs: args.user,
    });
    return backups;
  };

  // What a service or worker is made with: its name claimed, the app's backups and buckets (made
  // by the first of them), its jobs and the paths to and from the services it reaches.
  const workloadContext = (
    workload: string,
    port: number | undefined,
    workloadArgs: { after?: AppJob[]; reaches?: AppServiceReach[] },
  ) => {
    claim(workload);
    const pair = ensureBackups();
    const buckets = ensureBuckets();
    return {
      app: name,
      namespace,
      component,
      provider,
      databases: [...databases.values()],
      backups: pair ?? undefined,
      user: args.user,
      jobs: workloadArgs.after ?? [...jobs],
      reachPolicies: reaches.policiesOf(workload, port, workloadArgs.reaches ?? []),
      here,
      ...(buckets ? { buckets } : {}),
    };
  };

  return {
    name,
    namespace,
    component,
    database(kind) {
      whileOpen(`its ${kind} database`);
      if (databases.has(kind)) throw new Error(`App ${name} already has a ${kind} database`);
      const args = {
        name,
        namespace,
        server: requireStackOutput<DatabaseServerInfo>(kind, "server"),
        provider,
        parent: component,
        // Its dump is in the app's repository (the app's backups always hold its database).
        backedUpByApp: true,
      };
      const create = {
        postgresql: createPostgresqlDatabase,
        mariadb: createMariadbDatabase,
        mysql: createMysqlDatabase,
      };
      const database = create[kind](args);
      databases.set(kind, database);
      const ref = (key: string) => registerDatabaseRef(secretKeyRef(database.secret, key), database);
      return {
        kind,
        url: ref("url"),
        host: ref("host"),
        port: ref("port"),
        database: ref("database"),
        username: ref("username"),
        password: ref("password"),
        secret: database.secret,
      };
    },
    bucket(bucketArgs) {
      whileOpen(`bucket ${bucketArgs.name}`);
      if (!dnsLabel.test(bucketArgs.name))
        throw new Error(`App ${name}: bucket "${bucketArgs.name}" needs a DNS label name`);
      if (bucketNames.has(bucketArgs.name))
        throw new Error(`App ${name} already has bucket ${bucketArgs.name}`);
      bucketNames.add(bucketArgs.name);
      configuredBuckets ??= readExternalBuckets();
      const external = bucketArgs.external ?? configuredBuckets[bucketArgs.name];
      if (external) {
        const secret = createSecret({
          name: `${name}-bucket-${bucketArgs.name}`,
          namespace,
          stringData: {
            accessKeyId: external.accessKeyId,
            secretAccessKey: external.secretAccessKey,
            endpoint: external.endpoint,
            region: external.region,
          },
        });
        const access: BucketAccess = {
          kind: "external",
          name: bucketArgs.name,
          secret,
          ...externalEndpoint(external.endpoint),
        };
        bucketAccesses.push(access);
        return {
          bucket: external.bucket,
          endpoint: pulumi.output(external.endpoint),
          region: pulumi.output(external.region),
          accessKeyId: registerBucketRef(secretKeyRef(secret, "accessKeyId"), access),
          secretAccessKey: registerBucketRef(secretKeyRef(secret, "secretAccessKey"), access),
          credentials: {
            accessKeyId: pulumi.output(external.accessKeyId),
            secretAccessKey: pulumi.secret(external.secretAccessKey),
          },
          secret,
        };
      }
      const bucket = `${name}-${bucketArgs.name}`;
      bucketKey ??= createAppBucketKey(
        { name, namespace, store: requireStackOutput<ObjectStoreInfo>("object-storage", "server") },
        component,
      );
      const key = bucketKey;
      bucketSpecs.push({ bucket, corsOrigins: bucketArgs.corsOrigins ?? [] });
      let access = bucketAccesses.find((candidate) => candidate.kind === "store");
      if (!access) {
        access = { kind: "store", key, secret: key.secret };
        bucketAccesses.push(access);
      }
      return {
        bucket,
        endpoint: key.store.endpoint,
        region: key.store.region,
        accessKeyId: registerBucketRef(secretKeyRef(key.secret, "accessKeyId"), access),
        secretAccessKey: registerBucketRef(secretKeyRef(key.secret, "secretAccessKey"), access),
        credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
        secret: key.secret,
      };
    },
    volume(volumeArgs) {
      const backup = volumeArgs.backup ?? true;
      if (backup !== false) whileOpen(`volume ${volumeArgs.name}, which is backed up,`);
      const { storage } = volumeArgs;
      const claim = createPersistentVolumeClaim({
        name: volumeArgs.name,
        namespace,
        size: storage.size,
        ...(storage.className ? { storageClassName: storage.className } : {}),
      });
      volumes.push({
        claim,
        backup:
          backup === false
            ? undefined
            : { name: volumeArgs.name, claim, ...(backup === true ? {} : { exclude: backup.exclude }) },
      });
      return claim;
    },
    secret(secretArgs) {
      return createSecret({ name: secretArgs.name, namespace, stringData: secretArgs.stringData });
    },
    stableSecrets<Spec extends AppSecretsSpec>(spec: Spec) {
      if (stable) throw new Error(`App ${name} reads its stable secrets once`);
      const values = appSecrets().values(Object.keys(spec) as Extract<keyof Spec, string>[]);
      const secret = createSecret({ name: `${name}-stable`, namespace, stringData: values });
      stable = { values, secret, ref: (key) => secretKeyRef(secret, key) };
      return stable as AppStableSecrets<Extract<keyof Spec, string>>;
    },
    job(jobArgs) {
      if (!dnsLabel.test(jobArgs.name))
        throw new Error(`App ${name}: job "${jobArgs.name}" needs a DNS label name`);
      claim(jobArgs.name);
      const pair = ensureBackups();
      const buckets = ensureBuckets();
      const job = createAppJob({
        app: name,
        namespace,
        databases: [...databases.values()],
        backups: pair ?? undefined,
        user: args.user,
        jobs: jobArgs.after ?? [...jobs],
        ...(buckets ? { buckets } : {}),
        provider,
        component,
        args: jobArgs,
      });
      jobs.push(job);
      return job;
    },
    service(serviceArgs) {
      const serviceName = serviceArgs.name ?? name;
      return createAppService({
        ...workloadContext(serviceName, serviceArgs.port, serviceArgs),
        args: serviceArgs,
      });
    },
    worker(workerArgs) {
      if (!dnsLabel.test(workerArgs.name))
        throw new Error(`App ${name}: worker "${workerArgs.name}" needs a DNS label name`);
      return createAppWorker({
        ...workloadContext(workerArgs.name, undefined, workerArgs),
        args: workerArgs,
      });
    },
    backups: () => {
      if (!backups) return [];
      const [database] = [...databases.values()];
      return [
        {
          ...backups.entry,
          ...(database
            ? { database: { kind: database.kind, name: database.database, user: database.user } }
            : {}),
          ...(bucketSpecs.length > 0 ? { buckets: bucketSpecs.map((spec) => spec.bucket) } : {}),
        },
      ];
    },
  };
}
