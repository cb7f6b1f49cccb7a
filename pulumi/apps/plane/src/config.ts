import { domainName, storageConfig } from "@infra/core";
import { appEgressConfig } from "@projects/common";
import { z } from "zod";

/** Plane's project config (`plane:<key>`). */
export const planeConfig = z.object({
  /** Its DNS name, reached from the tailnet only; `plane.<domain>` by default. */
  hostname: domainName.optional(),
  /**
   * RabbitMQ's volume: its definitions and the durable queues of Celery tasks not yet run (a few
   * MiB in use; RabbitMQ blocks publishers when less than 50 MB is free).
   */
  queueStorage: storageConfig("1Gi"),
  /** The largest file a user may attach, in MiB (Plane's `FILE_SIZE_LIMIT`; its own default is 5). */
  uploadLimitMiB: z.number().int().min(1).max(1024).default(5),
  /**
   * Celery worker processes (`--concurrency`): Celery starts one per CPU of the node otherwise,
   * which the worker's memory limit does not fit on a many-core server.
   */
  workerConcurrency: z.number().int().min(1).max(8).default(2),
  /**
   * Instance settings Plane takes from its environment once, on its first start (`configure_instance`
   * writes them to the database only when they are missing); afterwards they are changed in its
   * admin page, `/god-mode/`.
   */
  instance: z
    .strictObject({
      /** Anyone who reaches Plane may sign up (`ENABLE_SIGNUP`); otherwise only the invited. */
      signup: z.boolean().default(false),
      /** Every user may create workspaces (`DISABLE_WORKSPACE_CREATION` when not). */
      workspaceCreation: z.boolean().default(true),
    })
    .default({ signup: false, workspaceCreation: true }),
  /**
   * What the API and the worker may reach outside the cluster (nothing by default): the SMTP
   * server and OAuth providers configured in `/god-mode/` (`appEgressConfig`).
   */
  egress: appEgressConfig,
});

export type PlaneSettings = z.output<typeof planeConfig>;
