import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
} from "./metadata";
import { buildPodTemplate, type PodArgs } from "./pod";

/** How a job's pods are retried and cleaned up. */
export interface JobPolicyArgs {
  /** Retries before the job counts as failed; 2 by default. */
  backoffLimit?: number;
  /** Seconds a job may run before it is stopped. */
  activeDeadlineSeconds?: number;
  /** Seconds a finished job is kept before Kubernetes deletes it; kept forever when omitted. */
  ttlSecondsAfterFinished?: number;
  /** `OnFailure` restarts the container in place; `Never` (the default) makes a new pod per try. */
  restartPolicy?: "OnFailure" | "Never";
}

export interface JobArgs extends NamespacedObjectArgs, PodArgs, JobPolicyArgs {}

function jobSpec(name: string, args: PodArgs & JobPolicyArgs): k8s.types.input.batch.v1.JobSpec {
  return {
    backoffLimit: args.backoffLimit ?? 2,
    ...(args.activeDeadlineSeconds === undefined
      ? {}
      : { activeDeadlineSeconds: args.activeDeadlineSeconds }),
    ...(args.ttlSecondsAfterFinished === undefined
      ? {}
      : { ttlSecondsAfterFinished: args.ttlSecondsAfterFinished }),
    template: buildPodTemplate(name, args, args.restartPolicy ?? "Never"),
  };
}

/**
 * Creates a Job. Pulumi waits for it to complete, so resources that depend on it (for example
 * an app after its restore job) are only created once it has succeeded.
 */
export function createJob(args: JobArgs): k8s.batch.v1.Job {
  return new k8s.batch.v1.Job(
    namespacedResourceName(args),
    { metadata: namespacedMetadata(args), spec: jobSpec(args.name, args) },
    namespacedOptions(args),
  );
}

export interface CronJobArgs extends NamespacedObjectArgs, PodArgs, JobPolicyArgs {
  /** Cron schedule, for example `"30 3 * * *"`. */
  schedule: pulumi.Input<string>;
  /** IANA time zone of the schedule; the cluster's (UTC on our servers) when omitted. */
  timeZone?: string;
  /** `Forbid` by default: a run never overlaps the previous one. */
  concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  /** Finished jobs kept for inspection: 3 successful, 3 failed by default. */
  historyLimits?: { successful: number; failed: number };
  /** Seconds after a missed start during which the job may still start. */
  startingDeadlineSeconds?: number;
}

/** Creates a CronJob. */
export function createCronJob(args: CronJobArgs): k8s.batch.v1.CronJob {
  const metadata = namespacedMetadata(args);
  return new k8s.batch.v1.CronJob(
    namespacedResourceName(args),
    {
      metadata,
      spec: {
        schedule: args.schedule,
        ...(args.timeZone ? { timeZone: args.timeZone } : {}),
        concurrencyPolicy: args.concurrencyPolicy ?? "Forbid",
        successfulJobsHistoryLimit: args.historyLimits?.successful ?? 3,
        failedJobsHistoryLimit: args.historyLimits?.failed ?? 3,
        ...(args.startingDeadlineSeconds === undefined
          ? {}
          : { startingDeadlineSeconds: args.startingDeadlineSeconds }),
        jobTemplate: { metadata: { labels: metadata.labels }, spec: jobSpec(args.name, args) },
      },
    },
    namespacedOptions(args),
  );
}
