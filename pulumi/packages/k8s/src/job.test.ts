import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { type CronJobArgs, createCronJob, createJob, type JobArgs } from "./job";
import { identityLabel } from "./metadata";
import { createNamespace } from "./namespace";

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

const restic = { image: "restic/restic:0.18.1", args: ["backup", "/data"] };

async function renderJob(args: Omit<JobArgs, "name" | "namespace" | "container">) {
  const rendered = await render(() =>
    createJob({ name: "restore", namespace: namespaceOnCluster(), container: restic, ...args }),
  );
  assert.deepEqual(rendered.errors, []);
  return rendered.manifest("Job", "restore");
}

async function renderCronJob(args: Omit<CronJobArgs, "name" | "namespace" | "container" | "schedule">) {
  const rendered = await render(() =>
    createCronJob({
      name: "backup",
      namespace: namespaceOnCluster(),
      schedule: "30 3 * * *",
      container: restic,
      ...args,
    }),
  );
  assert.deepEqual(rendered.errors, []);
  return rendered.manifest("CronJob", "backup");
}

describe("createJob", () => {
  it("makes a new pod per try, retries twice and keeps the finished job, by default", async () => {
    const job = await renderJob({});
    assert.equal(job.spec.template.spec.restartPolicy, "Never");
    assert.equal(job.spec.backoffLimit, 2);
    assert.equal("ttlSecondsAfterFinished" in job.spec, false);
    assert.equal("activeDeadlineSeconds" in job.spec, false);
  });

  it("renders the retry, deadline, clean-up and restart policy it is given", async () => {
    const job = await renderJob({
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 86400,
      restartPolicy: "OnFailure",
    });
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.activeDeadlineSeconds, 3600);
    assert.equal(job.spec.ttlSecondsAfterFinished, 86400);
    assert.equal(job.spec.template.spec.restartPolicy, "OnFailure");
  });

  it("runs its pod as a locked-down pod named after the job", async () => {
    const job = await renderJob({});
    const pod = job.spec.template;
    assert.equal(pod.metadata.labels[identityLabel], "restore");
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.containers[0].name, "restore");
    assert.deepEqual(pod.spec.containers[0].args, ["backup", "/data"]);
  });
});

describe("createCronJob", () => {
  it("never overlaps runs and keeps three finished jobs of each outcome, by default", async () => {
    const cronJob = await renderCronJob({});
    assert.equal(cronJob.spec.schedule, "30 3 * * *");
    assert.equal(cronJob.spec.concurrencyPolicy, "Forbid");
    assert.equal(cronJob.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cronJob.spec.failedJobsHistoryLimit, 3);
    assert.equal("timeZone" in cronJob.spec, false);
    assert.equal("startingDeadlineSeconds" in cronJob.spec, false);
  });

  it("renders the time zone, concurrency, history limits and starting deadline it is given", async () => {
    const cronJob = await renderCronJob({
      timeZone: "Europe/Berlin",
      concurrencyPolicy: "Replace",
      historyLimits: { successful: 1, failed: 5 },
      startingDeadlineSeconds: 600,
    });
    assert.equal(cronJob.spec.timeZone, "Europe/Berlin");
    assert.equal(cronJob.spec.concurrencyPolicy, "Replace");
    assert.equal(cronJob.spec.successfulJobsHistoryLimit, 1);
    assert.equal(cronJob.spec.failedJobsHistoryLimit, 5);
    assert.equal(cronJob.spec.startingDeadlineSeconds, 600);
  });

  it("gives every run the job defaults and the policy it is given", async () => {
    const defaults = (await renderCronJob({})).spec.jobTemplate;
    assert.equal(defaults.spec.template.spec.restartPolicy, "Never");
    assert.equal(defaults.spec.backoffLimit, 2);
    assert.equal(defaults.metadata.labels[identityLabel], "backup");
    const tuned = (await renderCronJob({ backoffLimit: 1, ttlSecondsAfterFinished: 3600 })).spec.jobTemplate;
    assert.equal(tuned.spec.backoffLimit, 1);
    assert.equal(tuned.spec.ttlSecondsAfterFinished, 3600);
  });
});
