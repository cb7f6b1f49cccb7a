import { type ContainerArgs, createWorkload, type Workload } from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";
import type { AppBucketRefs } from "./bucket";
import type { AppJob } from "./job";
import type { AppServiceReach } from "./reach";
import { type AppEgress, appPod, type CreateAppServiceArgs, outboundAccess } from "./service";

/**
 * A process of the app that serves nothing (a queue's worker, a scheduler): no port, no Service,
 * no exposure, so nothing can be given a way to it. What it calls, it names in `reaches`.
 */
export interface AppWorkerArgs {
  /** The workload's name (a DNS label). */
  name: string;
  /** The main container; its `resources` default to `defaultAppResources`. */
  container: ContainerArgs;
  /** Containers beside it, sharing its network. */
  sidecars?: ContainerArgs[];
  /** Containers that run to completion before the others start. */
  initContainers?: ContainerArgs[];
  /** Seconds the pod gets to stop. */
  terminationGracePeriodSeconds?: number;
  /** What it reaches outside the cluster; nothing else there. */
  egress?: AppEgress[];
  /**
   * The app's jobs it starts after.
   * @default every job the app created before it
   */
  after?: AppJob[];
  /**
   * Services of the app it calls, created before or after it.
   * @default []
   */
  reaches?: AppServiceReach[];
  /**
   * Buckets of the app it uses through a config file rather than its environment.
   * @default []
   */
  buckets?: AppBucketRefs[];
}

/** A worker of an app: its workload, and the policies its pods need. */
export interface AppWorker {
  name: string;
  workload: Workload;
  policies: k8s.apiextensions.CustomResource[];
}

export type CreateAppWorkerArgs = Omit<CreateAppServiceArgs, "args"> & { args: AppWorkerArgs };

/**
 * A worker of an app: its policies (to the databases and buckets its containers use, to its
 * declared egress, to the services it reaches), then its Deployment, which waits for them, for the
 * app's restore, its databases and its jobs.
 */
export function createAppWorker(options: CreateAppWorkerArgs): AppWorker {
  const { args, namespace } = options;
  const containers = [args.container, ...(args.sidecars ?? []), ...(args.initContainers ?? [])];
  const outbound = outboundAccess({
    ...options,
    name: args.name,
    containers,
    egress: args.egress,
    declaredBuckets: args.buckets,
  });
  const policies = [...outbound.policies, ...options.reachPolicies];
  const workload = createWorkload({
    name: args.name,
    namespace,
    ...appPod(options, args, [...outbound.dependsOn, ...policies]),
  });
  return { name: args.name, workload, policies };
}
