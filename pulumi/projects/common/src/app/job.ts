import type { AppDatabase } from "@infra/databases";
import { type ContainerArgs, createJob } from "@infra/k8s";
import type { JobPair } from "@infra/restic";
import { type RunAs, runAsPodSecurity } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { AppBucketRefs } from "./bucket";
import { type AppBuckets, outboundAccess, withResources } from "./service";

export interface AppJobArgs {
  /** The Job's name (a DNS label), also its pods' identity label; no other workload of the app has it. */
  name: string;
  /**
   * Its container. Reference the app's database through the fields `app.database()` returns. Its
   * `resources` default to `defaultAppResources`.
   */
  container: ContainerArgs;
  /** Containers that run to completion, in order, before it. */
  initContainers?: ContainerArgs[];
  /**
   * Seconds the Job may run, all retries included, before it fails (and so does `pulumi up`).
   * @default 600
   */
  activeDeadlineSeconds?: number;
  /**
   * Retries of a failed pod before the Job fails.
   * @default 2
   */
  backoffLimit?: number;
  /**
   * Buckets of the app it uses through a config file rather than its environment.
   * @default []
   */
  buckets?: AppBucketRefs[];
  /**
   * The app's jobs it runs after.
   * @default every job the app created before it
   */
  after?: AppJob[];
}

/** A step an app's services (and later jobs) wait for: a Job that must complete first. */
export interface AppJob {
  name: string;
  job: k8s.batch.v1.Job;
  /** The policies its pods need, created before it. */
  policies: k8s.apiextensions.CustomResource[];
}

export interface CreateAppJobArgs {
  /** The app's name, also its namespace's. */
  app: string;
  namespace: k8s.core.v1.Namespace;
  databases: AppDatabase[];
  /** The app's backups, if it has data: its jobs run after their restore. */
  backups: JobPair | undefined;
  /** The app's user and group, which its pods run as. */
  user: RunAs;
  /** The jobs it runs after. */
  jobs: AppJob[];
  /** The app's bucket key and the job that made its buckets, when it has any. */
  buckets?: AppBuckets;
  provider: k8s.Provider;
  component: pulumi.ComponentResource;
  args: AppJobArgs;
}

// Pulumi waits for the Job to complete: as long as it may run, and a little more to see it end.
const awaitMarginMinutes = 5;

/**
 * A Job of an app (a migration, a setup step) that its services wait for: its policies (to the
 * databases its containers reference), then the Job, created after those policies, the app's
 * restore, its databases and its earlier jobs. Pulumi's Kubernetes provider waits for a Job until
 * its `Complete` condition is true and fails the update on `Failed` (@pulumi/kubernetes,
 * `batch/v1/Job`), so whatever depends on it is created only once it has succeeded. A change of
 * its spec replaces it (a Job's template is immutable), so the step runs again, before the
 * services that depend on it are updated.
 */
export function createAppJob(options: CreateAppJobArgs): AppJob {
  const { args } = options;
  const containers = [args.container, ...(args.initContainers ?? [])];
  const outbound = outboundAccess({
    ...options,
    name: args.name,
    containers,
    egress: undefined,
    declaredBuckets: args.buckets,
  });
  const { policies } = outbound;
  const activeDeadlineSeconds = args.activeDeadlineSeconds ?? 600;
  const job = createJob({
    name: args.name,
    namespace: options.namespace,
    container: withResources(args.container),
    ...(args.initContainers ? { initContainers: args.initContainers.map(withResources) } : {}),
    podSecurity: runAsPodSecurity(options.user),
    backoffLimit: args.backoffLimit ?? 2,
    activeDeadlineSeconds,
    options: {
      dependsOn: [
        ...(options.backups?.dependsOn ?? []),
        ...outbound.dependsOn,
        ...policies,
        ...options.jobs.map((earlier) => earlier.job),
      ],
      // Its name is fixed: the old Job goes before the new one runs.
      deleteBeforeReplace: true,
      customTimeouts: {
        create: `${Math.ceil(activeDeadlineSeconds / 60) + awaitMarginMinutes}m`,
        update: `${Math.ceil(activeDeadlineSeconds / 60) + awaitMarginMinutes}m`,
      },
    },
  });
  return { name: args.name, job, policies };
}
