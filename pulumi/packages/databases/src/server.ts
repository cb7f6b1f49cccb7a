import { createPolicy } from "@infra/cilium";
import {
  createNamespace,
  createPersistentVolumeClaim,
  createSecret,
  createWorkloadService,
  emptyDir,
  identityLabel,
  type ResourcesArgs,
  type WorkloadService,
} from "@infra/k8s";
import { type BackupConfig, createBackupRepository, createJobPair, type JobPair } from "@infra/restic";
import { runAsPodSecurity } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type DatabaseKind, engines, serverHost } from "./engines";
import { adminPasswordFile, databaseBackupHooks, serverMounts } from "./hooks";

/**
 * What a database project exports and the database helpers read: where the server answers, and
 * which Secret (in its namespace) holds the admin password. Never the password itself.
 */
export interface DatabaseServerInfo {
  kind: DatabaseKind;
  host: string;
  port: number;
  namespace: string;
  adminUser: string;
  adminSecret: { name: string; key: string };
  /** The server pods' labels (its policies select them). */
  podLabels: Record<string, string>;
}

/**
 * A database server's compute resources unless its project sets others: the engines' default
 * buffers (PostgreSQL's shared_buffers and MariaDB's InnoDB buffer pool are 128 MB each) with room
 * for connections and sorts, and no CPU limit, since every app's queries wait on the server.
 */
export const databaseServerResources: ResourcesArgs = {
  requests: { cpu: "50m", memory: "256Mi" },
  limits: { memory: "1Gi" },
};

export interface DatabaseServerArgs {
  kind: DatabaseKind;
  /**
   * The server (its stack's name): the server's backups are `<kind>-<server>`, its own data and
   * no other server's (apps' databases are in their apps' repositories).
   */
  serverName: string;
  /** The server's Kubernetes provider. */
  provider: k8s.Provider;
  /** The data volume's size, for example `20Gi`. */
  storageSize: string;
  /** The storage class; the cluster's default when omitted. */
  storageClassName?: string;
  /**
   * The server's compute resources.
   * @default databaseServerResources
   */
  resources?: ResourcesArgs;
  /**
   * The stack's backup settings with the credentials of the server's own repository
   * (`getBackupConfig(readServerBackupCredentials(serverBackupIdentity(kind, server)))` of
   * @projects/common): its password and storage key, no app's.
   */
  backup: BackupConfig;
  /** The server's kube context, for the final backup. */
  kubeContext: pulumi.Input<string>;
}

export interface DatabaseServer {
  namespace: k8s.core.v1.Namespace;
  server: WorkloadService;
  adminSecret: k8s.core.v1.Secret;
  data: k8s.core.v1.PersistentVolumeClaim;
  backups: JobPair;
  /** The project's export for the database helpers. */
  info: DatabaseServerInfo;
}

/**
 * What a server's own backups are known by: their repository `<remote>/<kind>-<server>`, the host
 * and tag of their snapshots, and the name of the secrets file holding the repository's password.
 */
export function serverBackupIdentity(kind: DatabaseKind, serverName: string): string {
  return `${engines[kind].name}-${serverName}`;
}

/**
 * A database server of one kind in its own namespace: a Deployment (stopped before it is
 * replaced) on a volume, its admin password generated and kept in a Secret, and its backups:
 * consistent online dumps on a schedule, a restore before the server first starts (so it never
 * starts empty when a backup exists) and a final backup after it stopped when it is destroyed.
 * Only its backup jobs reach it until an app is given a database (`createPostgresqlDatabase`...).
 */
export function createDatabaseServer(args: DatabaseServerArgs): DatabaseServer {
  const engine = engines[args.kind];
  const namespace = createNamespace({ name: engine.name, provider: args.provider });
  const adminPassword = new random.RandomPassword(`${engine.name}-admin-password`, {
    length: 32,
    // Letters and digits: ~190 bits, and no client, option file or URL needs quoting.
    special: false,
  });
  const adminSecret = createSecret({
    name: `${engine.name}-admin`,
    namespace,
    stringData: { password: adminPassword.result },
  });
  const data = createPersistentVolumeClaim({
    name: `${engine.name}-data`,
    namespace,
    size: args.storageSize,
    ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
  });
  const volumes = { adminSecret, data };
  const backups = createJobPair({
    app: engine.name,
    identity: serverBackupIdentity(args.kind, args.serverName),
    namespace,
    // Dumped through the server, not backed up as files; the offline jobs run a private server on it.
    requires: [data],
    schedule: args.backup.schedule,
    ...(args.backup.drillSchedule ? { drillSchedule: args.backup.drillSchedule } : {}),
    retention: args.backup.retention,
    repository: createBackupRepository({ namespace, config: args.backup }),
    hooks: databaseBackupHooks(engine, volumes),
    kubeContext: args.kubeContext,
    server: args.serverName,
    // The server's files are its user's: the private server runs as it, and the dumps need no more.
    runAs: engine.user,
  });
  const server = createWorkloadService({
    name: engine.name,
    namespace,
    port: engine.port,
    portName: engine.kind,
    // The image's stop signal shuts the server down cleanly; a large buffer pool takes a while.
    terminationGracePeriodSeconds: 120,
    // As the image's own user from the start, so the entrypoint never runs as root.
    podSecurity: runAsPodSecurity(engine.user),
    container: {
      image: engine.image,
      ...(engine.serverArgs ? { args: engine.serverArgs } : {}),
      env: engine.serverEnv(adminPasswordFile),
      // Temporary files (MariaDB's on-disk temporary tables) go to /tmp; the rest is the volume's.
      volumeMounts: [...serverMounts(engine, volumes), { volume: emptyDir("tmp"), mountPath: "/tmp" }],
      // A server needs no capability, and writes nothing outside its volume and emptyDirs.
      securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
      // The entrypoint's initialisation server listens on its socket only: TCP means ready.
      readinessProbe: { tcpSocket: { port: engine.port }, periodSeconds: 5 },
      livenessProbe: { tcpSocket: { port: engine.port }, periodSeconds: 20, failureThreshold: 6 },
      resources: args.resources ?? databaseServerResources,
    },
    options: { dependsOn: backups.dependsOn },
  });

  const backupPeer = { endpoints: backups.podLabels };
  const port = [{ port: engine.port }];
  createPolicy({
    name: `${engine.name}-from-backup-jobs`,
    description: `${engine.name} accepts its backup jobs' dumps and restores.`,
    namespace,
    subject: { workload: server.workload },
    ingress: [{ peers: [backupPeer], ports: port }],
  });
  // The scheduled backup dumps the running server; the offline jobs make sure it is not running.
  createPolicy({
    name: `${engine.name}-backup-jobs-to-server`,
    description: `The backup jobs of ${engine.name} reach the server.`,
    namespace,
    subject: { labels: backups.podLabels },
    egress: [{ peers: [{ workload: server.workload }], ports: port }],
  });

  return {
    namespace,
    server,
    adminSecret,
    data,
    backups,
    info: {
      kind: engine.kind,
      host: serverHost(engine),
      port: engine.port,
      namespace: engine.name,
      adminUser: engine.adminUser,
      adminSecret: { name: `${engine.name}-admin`, key: "password" },
      podLabels: { [identityLabel]: server.workload.name },
    },
  };
}
