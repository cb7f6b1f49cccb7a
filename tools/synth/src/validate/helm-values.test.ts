import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { problemsWith, type ReleaseInputs } from "./test-stack";

/** A valid release of the traefik chart (its schema is JSON Schema 2020-12 and closed at the top). */
function traefikRelease(values: Record<string, any> = {}): ReleaseInputs {
  return {
    chart: "traefik",
    version: "41.3.0",
    name: "traefik",
    namespace: "kube-system",
    repositoryOpts: { repo: "https://traefik.github.io/charts" },
    values: {
      deployment: { replicas: 1 },
      log: { level: "INFO" },
      service: { enabled: true, spec: { type: "ClusterIP" } },
      // The chart's own RBAC reads every Secret of the cluster, which validation refuses.
      rbac: { enabled: false },
      // A container without a memory limit is refused too.
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      ...values,
    },
  };
}

describe("checking Helm values against the cilium chart's schema", () => {
  it("rejects a value outside its enum, listing the allowed ones", async () => {
    const problems = await problemsWith((parts) => {
      parts.release.values.identityManagementMode = "kvstore";
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/cilium: values.identityManagementMode: must be equal to one of the allowed values (agent, operator, both)",
    ]);
  });

  it("rejects a value of the wrong type", async () => {
    const problems = await problemsWith((parts) => {
      parts.release.values.hubble.relay.enabled = "true";
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/cilium: values.hubble.relay.enabled: must be boolean",
    ]);
  });
});

describe("checking Helm values against the traefik chart's schema", () => {
  it("accepts valid traefik values", async () => {
    // The baseline for the cases below: each breaks one value of this release.
    assert.deepEqual(
      await problemsWith((parts) => {
        parts.release = traefikRelease();
      }),
      [],
    );
  });

  it("rejects a log level outside its enum", async () => {
    const problems = await problemsWith((parts) => {
      parts.release = traefikRelease({ log: { level: "VERBOSE" } });
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/traefik: values.log.level: must be equal to one of the allowed values (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC)",
    ]);
  });

  it("rejects a value of the wrong type", async () => {
    const problems = await problemsWith((parts) => {
      parts.release = traefikRelease({ deployment: { replicas: "1" } });
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/traefik: values.deployment.replicas: must be integer,null",
    ]);
  });

  it("rejects a top-level value the chart does not have", async () => {
    // replicas lives under deployment; at the top level Helm would ignore it without a word.
    const problems = await problemsWith((parts) => {
      parts.release = traefikRelease({ replicas: 2 });
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/traefik: values.replicas: not a value of this chart",
    ]);
  });
});

describe("charts without a vendored values schema", () => {
  it("rejects a chart whose schema is not vendored", async () => {
    const problems = await problemsWith((parts) => {
      parts.release = { ...traefikRelease(), chart: "podinfo", version: "6.7.1", name: "podinfo" };
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/podinfo: chart podinfo 6.7.1: no values schema is vendored under schemas/charts/podinfo/",
      "test/cilium: HelmRelease kube-system/podinfo: chart podinfo: the values that set its containers' resources " +
        "are not documented (chartContainerResources in tools/synth/src/validate/meaning.ts), so their memory " +
        "limits cannot be checked",
    ]);
  });

  it("accepts a chart known to ship no schema", async () => {
    const problems = await problemsWith((parts) => {
      parts.release = {
        ...traefikRelease(),
        chart: "kubernetes-dashboard",
        version: "7.13.0",
        name: "kubernetes-dashboard",
        values: {
          app: { mode: "dashboard" },
          kong: { resources: { requests: { cpu: "25m", memory: "128Mi" }, limits: { memory: "512Mi" } } },
        },
      };
    });
    assert.deepEqual(problems, []);
  });
});
