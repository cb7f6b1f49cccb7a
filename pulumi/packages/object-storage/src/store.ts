import { createPolicy } from "@infra/cilium";
import { images, quantityBytes } from "@infra/core";
import {
  createConfigMap,
  createJob,
  createNamespace,
  createPersistentVolumeClaim,
  createSecret,
  createService,
  createWorkloadService,
  emptyDir,
  identityLabel,
  type ResourcesArgs,
  secretKeyRef,
  type WorkloadService,
} from "@infra/k8s";
import { type BackupConfig, createBackupRepository, createJobPair, type JobPair } from "@infra/restic";
import { createScriptBundle, type RunAs, runAsPodSecurity, scriptPod } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { garageConfig, garageDirs, garagePorts } from "./garage-config";
import { storeBackupExclude, storeBackupHooks, storeVolumeName } from "./hooks";
import { jqPackage, scriptImage, storeScripts } from "./scripts";

/** The store's namespace, workload and Service. */
export const storeName = "object-storage";
/** The Service of the store's admin API (the setup jobs and the scheduled backup only). */
const adminServiceName = "garage-admin";
/** Garage's process and every job of the store: an unprivileged user of its own. */
export const storeUser: RunAs = { user: 1000, group: 1000 };

/**
 * What the object-storage project exports and the bucket helpers read: where the store answers,
 * inside the cluster and for the apps' clients, and the Secret of its admin token (never the token).
 */
export interface ObjectStoreInfo {
  namespace: string;
  /** The store's pods (its policies select them). */
  podLabels: Record<string, string>;
  /** The S3 API inside the cluster. */
  s3Url: string;
  s3Port: number;
  /** The admin API inside the cluster (the bucket jobs). */
  adminUrl: string;
  adminPort: number;
  /** The S3 region it answers as. */
  region: string;
  /** `https://<hostname>`: the S3 endpoint apps and their users' browsers reach, through the internal gateway. */
  endpoint: string;
  adminSecret: { name: string; key: string };
}

/** The store's compute resources: Garage is small; LMDB's pages are the kernel's cache, not its heap. */
export const storeResources: ResourcesArgs = {
  requests: { cpu: "20m", memory: "128Mi" },
  limits: { memory: "1Gi" },
};

export interface ObjectStoreArgs {
  /** The server (its stack's name): the store's backups are `object-storage-<server>`. */
  serverName: string;
  provider: k8s.Provider;
  /** The volume's size (its data blocks and metadata), for example `100Gi`: also the node's capacity in the layout. */
  storageSize: string;
  /** The storage class; the cluster's default when omitted. */
  storageClassName?: string;
  /** The S3 region it answers as. */
  region: string;
  /** The endpoint's hostname on the internal gateway. */
  hostname: pulumi.Input<string>;
  /** The stack's backup settings with the store's own repository credentials. */
  backup: BackupConfig;
  kubeContext: pulumi.Input<string>;
}

export interface ObjectStore {
  namespace: k8s.core.v1.Namespace;
  server: WorkloadService;
  data: k8s.core.v1.PersistentVolumeClaim;
  backups: JobPair;
  /** The job that gives the node its role in the layout; bucket jobs run after it. */
  layout: k8s.batch.v1.Job;
  info: pulumi.Output<ObjectStoreInfo>;
}

/** The store's Service host inside the cluster. */
const host = (service: string) => `${service}.${storeName}.svc.cluster.local`;

/**
 * A single-node Garage store in its own namespace: its config, RPC secret and admin token
 * (generated once), one volume for metadata and data blocks, backed up with a consistent
 * metadata snapshot and restored before the store first starts, and a job that gives the node its
 * role in the layout. Only the store's own jobs reach it until an app gets a bucket
 * (`createAppBuckets`) and its project exposes the S3 API on the internal gateway.
 */
export function createObjectStore(args: ObjectStoreArgs): ObjectStore {
  const capacity = quantityBytes(args.storageSize);
  if (capacity === undefined)
    throw new Error(
      `Object store: storage size "${args.storageSize}" is not a Kubernetes quantity such as 50Gi`,
    );
  const namespace = createNamespace({ name: storeName, provider: args.provider });
  // 32 bytes in hex, as Garage's RPC secret is; RandomBytes keeps it a secret in the state.
  const rpcSecret = new random.RandomBytes(`${storeName}-rpc-secret`, { length: 32 });
  const adminToken = new random.RandomPassword(`${storeName}-admin-token`, { length: 48, special: false });
  const secrets = createSecret({
    name: `${storeName}-secrets`,
    namespace,
    stringData: { "rpc-secret": rpcSecret.hex, token: adminToken.result },
  });
  const config = createConfigMap({
    name: `${storeName}-config`,
    namespace,
    data: { "garage.toml": garageConfig({ region: args.region }) },
  });
  const data = createPersistentVolumeClaim({
    name: `${storeName}-data`,
    namespace,
    size: args.storageSize,
    ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
  });
  const adminUrl = `http://${host(adminServiceName)}:${garagePorts.admin}`;
  const adminTokenRef = secretKeyRef(secrets, "token");
  const backups = createJobPair({
    app: storeName,
    identity: `${storeName}-${args.serverName}`,
    namespace,
    volumes: [{ name: storeVolumeName, claim: data, exclude: storeBackupExclude }],
    hooks: storeBackupHooks({ adminUrl, adminToken: adminTokenRef }),
    schedule: args.backup.schedule,
    ...(args.backup.drillSchedule ? { drillSchedule: args.backup.drillSchedule } : {}),
    retention: args.backup.retention,
    repository: createBackupRepository({ namespace, config: args.backup }),
    kubeContext: args.kubeContext,
    server: args.serverName,
    runAs: storeUser,
  });
  // Garage's /health answers 503 until the layout gives the node a role, which the layout job
  // does once the pod serves: the probes only ask whether it listens.
  const health = { tcpSocket: { port: garagePorts.admin } };
  const server = createWorkloadService({
    name: storeName,
    namespace,
    port: garagePorts.s3,
    portName: "s3",
    podSecurity: runAsPodSecurity(storeUser),
    terminationGracePeriodSeconds: 60,
    container: {
      image: images.garage,
      command: ["/garage", "-c", "/etc/garage/garage.toml", "server"],
      ports: [{ name: "admin", port: garagePorts.admin }],
      env: {
        GARAGE_RPC_SECRET: secretKeyRef(secrets, "rpc-secret"),
        GARAGE_ADMIN_TOKEN: adminTokenRef,
      },
      volumeMounts: [
        { volume: data, mountPath: garageDirs.root },
        { volume: config, mountPath: "/etc/garage" },
        { volume: emptyDir("tmp"), mountPath: "/tmp" },
      ],
      securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
      readinessProbe: { ...health, periodSeconds: 10 },
      livenessProbe: { ...health, periodSeconds: 30, failureThreshold: 5 },
      resources: storeResources,
    },
    options: { dependsOn: backups.dependsOn },
  });
  createService({
    name: adminServiceName,
    workload: server.workload,
    ports: [{ name: "admin", port: garagePorts.admin }],
  });

  const storePods = { workload: server.workload };
  // The scheduled backup asks the running store for its snapshot; the offline jobs reach nothing of it.
  createPolicy({
    name: `${storeName}-from-backup-jobs`,
    description: "The store accepts its scheduled backup's snapshot request.",
    namespace,
    subject: storePods,
    ingress: [{ peers: [{ endpoints: backups.podLabels }], ports: [{ port: garagePorts.admin }] }],
  });
  createPolicy({
    name: `${storeName}-backup-jobs-to-store`,
    description: "The store's backup jobs reach its admin API.",
    namespace,
    subject: { labels: backups.podLabels },
    egress: [{ peers: [storePods], ports: [{ port: garagePorts.admin }] }],
  });

  const layoutName = `${storeName}-layout`;
  const layoutPods = { [identityLabel]: layoutName };
  const layoutPolicies = [
    createPolicy({
      name: `${layoutName}-to-store`,
      description: "The layout job reaches the store's admin API.",
      namespace,
      subject: { labels: layoutPods },
      egress: [{ peers: [storePods], ports: [{ port: garagePorts.admin }] }],
    }),
    createPolicy({
      name: `${storeName}-from-layout`,
      description: "The store accepts the layout job.",
      namespace,
      subject: storePods,
      ingress: [{ peers: [{ endpoints: layoutPods }], ports: [{ port: garagePorts.admin }] }],
    }),
  ];
  const layoutBundle = createScriptBundle({
    name: `${layoutName}-scripts`,
    namespace,
    environments: [
      {
        name: "garage-layout",
        image: scriptImage,
        packages: [jqPackage],
        scripts: storeScripts("garage-layout.sh"),
        env: {
          GARAGE_ADMIN_URL: adminUrl,
          GARAGE_ADMIN_TOKEN: adminTokenRef,
          GARAGE_ZONE: args.serverName,
          GARAGE_CAPACITY_BYTES: String(capacity),
        },
      },
    ],
  });
  const layout = createJob({
    name: layoutName,
    namespace,
    backoffLimit: 3,
    activeDeadlineSeconds: 600,
    ...scriptPod(layoutBundle, { script: "garage-layout.sh", runAs: storeUser }),
    options: { dependsOn: [server.workload.resource, ...layoutPolicies] },
  });

  return {
    namespace,
    server,
    data,
    backups,
    layout,
    info: pulumi.output(args.hostname).apply(
      (hostname): ObjectStoreInfo => ({
        namespace: storeName,
        podLabels: { [identityLabel]: server.workload.name },
        s3Url: `http://${host(storeName)}:${garagePorts.s3}`,
        s3Port: garagePorts.s3,
        adminUrl,
        adminPort: garagePorts.admin,
        region: args.region,
        endpoint: `https://${hostname}`,
        adminSecret: { name: `${storeName}-secrets`, key: "token" },
      }),
    ),
  };
}
