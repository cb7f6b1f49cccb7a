import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChartVersion } from "@infra/core";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { createHelmRelease, type HelmReleaseArgs } from "./helm-release";
import { createNamespace } from "./namespace";

const releaseType = "kubernetes:helm.sh/v3:Release";
const chart: ChartVersion = {
  chart: "traefik",
  repository: "https://traefik.github.io/charts",
  version: "41.3.0",
};

/** Renders a release `traefik` in namespace `gateway` and returns its recorded resource. */
async function renderRelease(args: Partial<Omit<HelmReleaseArgs, "namespace">> = {}) {
  const rendered = await render(() => {
    const provider = new k8s.Provider("cluster", { context: "test" });
    const namespace = createNamespace({ name: "gateway", provider });
    createHelmRelease({ name: "traefik", namespace, chart, values: {}, ...args });
  });
  assert.deepEqual(rendered.errors, []);
  const release = rendered.resources.find((resource) => resource.type === releaseType);
  assert.ok(release, "no Helm release was registered");
  return { rendered, release };
}

describe("createHelmRelease", () => {
  it("installs the pinned chart version from its repository into the namespace", async () => {
    const { release } = await renderRelease();
    assert.equal(release.inputs.name, "traefik");
    assert.equal(release.inputs.chart, "traefik");
    assert.equal(release.inputs.version, "41.3.0");
    assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://traefik.github.io/charts" });
    assert.equal(release.inputs.namespace, "gateway");
  });

  it("passes the values through unchanged", async () => {
    const values = {
      deployment: { replicas: 1 },
      ports: { web: { exposedPort: 80 } },
      logs: { general: { level: "INFO" } },
    };
    const { release } = await renderRelease({ values });
    assert.deepEqual(release.inputs.values, values);
  });

  it("keeps a secret value secret in the values", async () => {
    const { release } = await renderRelease({ values: { token: pulumi.secret("s3cret-token") } });
    // The SDK marks the whole values map secret when one value in it is.
    const values = release.inputs.values as Record<string, unknown>;
    assert.equal(values[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
    assert.deepEqual(values.value, { token: "s3cret-token" });
  });

  it("rolls a failed install or upgrade back and waits for readiness by default", async () => {
    const { release } = await renderRelease();
    assert.equal(release.inputs.atomic, true);
    assert.equal(release.inputs.cleanupOnFail, true);
    assert.equal(release.inputs.skipAwait, false);
    assert.equal("timeout" in release.inputs, false);
  });

  it("skips waiting when asked and renders the timeout it is given", async () => {
    const { release } = await renderRelease({ wait: false, timeoutSeconds: 600 });
    assert.equal(release.inputs.skipAwait, true);
    assert.equal(release.inputs.timeout, 600);
  });

  it("installs the chart's own CRDs unless told to leave them out", async () => {
    const installed = await renderRelease();
    const skipped = await renderRelease({ skipCrds: true });
    assert.deepEqual([installed.release.inputs.skipCrds, skipped.release.inputs.skipCrds], [undefined, true]);
  });

  it("is parented to its namespace and installed through the namespace's provider", async () => {
    const { rendered, release } = await renderRelease();
    const namespace = rendered.resources.find((resource) => resource.type === "kubernetes:core/v1:Namespace");
    const provider = rendered.resources.find((resource) => resource.type === "pulumi:providers:kubernetes");
    assert.ok(namespace && provider);
    assert.equal(release.parent, namespace.urn);
    assert.ok(release.provider?.startsWith(`${provider.urn}::`), `the release uses ${release.provider}`);
  });
});
