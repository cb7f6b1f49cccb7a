import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { charts, kubernetesVersion } from "@infra/core";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { createConfigMap } from "./config-map";
import { createHelmRelease } from "./helm-release";
import { createCronJob, createJob } from "./job";
import { identityLabel } from "./metadata";
import { createNamespace, getExistingNamespace } from "./namespace";
import { createPersistentVolumeClaim } from "./persistent-volume-claim";
import { createRole } from "./rbac";
import { createSecret } from "./secret";
import { createWorkloadService } from "./service";
import { createServiceAccount } from "./service-account";
import { createWorkload } from "./workload";

const providerType = "pulumi:providers:kubernetes";
const namespaceType = "kubernetes:core/v1:Namespace";

/** Creates one object of every namespaced factory in `namespace`. */
function createOneOfEach(namespace: k8s.core.v1.Namespace): void {
  const container = { image: "busybox:1.37" };
  const config = createConfigMap({ name: "config", namespace, data: { key: "value" } });
  const secret = createSecret({ name: "secret", namespace, stringData: { key: "value" } });
  const account = createServiceAccount({ name: "account", namespace });
  createRole({ name: "role", namespace, rules: [], serviceAccounts: [account] });
  const data = createPersistentVolumeClaim({ name: "data", namespace, size: "1Gi" });
  createWorkloadService({
    name: "web",
    namespace,
    port: 8080,
    serviceAccount: account,
    container: {
      image: "nginx:1.27",
      volumeMounts: [
        { volume: data, mountPath: "/data" },
        { volume: config, mountPath: "/config" },
        { volume: secret, mountPath: "/secret" },
      ],
    },
  });
  createWorkload({ name: "agent", kind: "DaemonSet", namespace, container });
  createWorkload({ name: "db", kind: "StatefulSet", namespace, container });
  createJob({ name: "job", namespace, container });
  createCronJob({ name: "cron", namespace, schedule: "@daily", container });
  createHelmRelease({ name: "release", namespace, chart: charts.traefik, values: {} });
}

const namespacedTypes = [
  "kubernetes:core/v1:ConfigMap",
  "kubernetes:core/v1:Secret",
  "kubernetes:core/v1:ServiceAccount",
  "kubernetes:rbac.authorization.k8s.io/v1:Role",
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  "kubernetes:core/v1:PersistentVolumeClaim",
  "kubernetes:apps/v1:Deployment",
  "kubernetes:core/v1:Service",
  "kubernetes:apps/v1:DaemonSet",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:batch/v1:Job",
  "kubernetes:batch/v1:CronJob",
  "kubernetes:helm.sh/v3:Release",
].sort();

describe("createNamespace", () => {
  it("creates the namespace through the given provider, with its labels and the identity label", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createNamespace({ name: "apps", provider, labels: { team: "media", [identityLabel]: "other" } });
    });
    const provider = rendered.resources.find((resource) => resource.type === providerType);
    const namespace = rendered.resources.find((resource) => resource.type === namespaceType);
    assert.ok(provider && namespace);
    assert.ok(
      namespace.provider?.startsWith(`${provider.urn}::`),
      `the namespace uses ${namespace.provider}`,
    );
    const labels = rendered.manifest("Namespace", "apps").metadata.labels;
    assert.equal(labels.team, "media");
    assert.equal(labels["app.kubernetes.io/managed-by"], "pulumi");
    assert.equal(labels[identityLabel], "apps");
  });

  it("holds its pods to Pod Security restricted by default, enforced, audited and warned about at the servers' Kubernetes minor", async () => {
    const rendered = await render(() => {
      createNamespace({ name: "apps", provider: new k8s.Provider("cluster", { context: "test" }) });
    });
    const labels = rendered.manifest("Namespace", "apps").metadata.labels;
    assert.deepEqual(
      Object.fromEntries(Object.entries(labels).filter(([label]) => label.startsWith("pod-security."))),
      {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.35",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.35",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.35",
      },
    );
    assert.equal(kubernetesVersion, "v1.35");
  });

  for (const level of ["baseline", "privileged"] as const) {
    it(`holds its pods to the ${level} level it is given, in every mode`, async () => {
      const rendered = await render(() => {
        createNamespace({
          name: "relays",
          provider: new k8s.Provider("cluster", { context: "test" }),
          podSecurity: level,
        });
      });
      assert.deepEqual(rendered.errors, []);
      const labels = rendered.manifest("Namespace", "relays").metadata.labels;
      for (const mode of ["enforce", "audit", "warn"]) {
        assert.equal(labels[`pod-security.kubernetes.io/${mode}`], level, mode);
      }
    });
  }

  it("refuses Pod Security labels given as plain labels, which would bypass the level", async () => {
    const rendered = await render(() => {
      createNamespace({
        name: "apps",
        provider: new k8s.Provider("cluster", { context: "test" }),
        labels: { "pod-security.kubernetes.io/enforce": "privileged" },
      });
    });
    assert.deepEqual(rendered.errors, [
      "Namespace apps: label pod-security.kubernetes.io/enforce comes from the podSecurity option, not from labels",
    ]);
  });

  it("parents every namespaced object to its namespace and creates it through the namespace's provider", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createOneOfEach(createNamespace({ name: "apps", provider }));
    });
    assert.deepEqual(rendered.errors, []);
    const provider = rendered.resources.find((resource) => resource.type === providerType);
    const namespace = rendered.resources.find((resource) => resource.type === namespaceType);
    assert.ok(provider && namespace);
    const objects = rendered.resources.filter((resource) => resource !== provider && resource !== namespace);
    // Every factory is covered: a factory that registered nothing would otherwise pass silently.
    assert.deepEqual([...new Set(objects.map((resource) => resource.type))].sort(), namespacedTypes);
    for (const object of objects) {
      const what = `${object.type} ${object.name}`;
      assert.equal(object.parent, namespace.urn, `${what} is not parented to its namespace`);
      // Never `urn:...::pulumi:providers:kubernetes::default_...`, which would use the ambient kubeconfig.
      assert.ok(object.provider?.startsWith(`${provider.urn}::`), `${what} uses ${object.provider}`);
    }
  });

  it("puts every namespaced object in the namespace by name", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createOneOfEach(createNamespace({ name: "apps", provider }));
    });
    const objects = rendered.manifests.filter((object) => object.kind !== "Namespace");
    assert.equal(objects.length, namespacedTypes.length - 1);
    for (const object of objects) {
      const metadata = object.metadata as { name: string; namespace?: string };
      assert.equal(metadata.namespace, "apps", `${object.kind} ${metadata.name}`);
    }
    const release = rendered.resources.find((resource) => resource.type === "kubernetes:helm.sh/v3:Release");
    assert.equal(release?.inputs.namespace, "apps");
  });

  it("keeps objects of two clusters on their own providers", async () => {
    const rendered = await render(() => {
      const a = createNamespace({
        name: "apps",
        provider: new k8s.Provider("cloud-a", { context: "cloud-a" }),
      });
      const b = createNamespace({
        name: "apps-b",
        provider: new k8s.Provider("cloud-b", { context: "cloud-b" }),
      });
      createConfigMap({ name: "on-a", namespace: a, data: {} });
      createConfigMap({ name: "on-b", namespace: b, data: {} });
    });
    const providerOf = (name: string) =>
      rendered.resources.find((resource) => resource.name === name)?.provider;
    assert.match(providerOf("apps/on-a") ?? "", /::pulumi:providers:kubernetes::cloud-a::/);
    assert.match(providerOf("apps-b/on-b") ?? "", /::pulumi:providers:kubernetes::cloud-b::/);
  });

  it("gives objects of the same kind and name in two namespaces distinct Pulumi names", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createConfigMap({ name: "settings", namespace: createNamespace({ name: "one", provider }), data: {} });
      createConfigMap({ name: "settings", namespace: createNamespace({ name: "two", provider }), data: {} });
    });
    assert.deepEqual(rendered.errors, []);
    const configMaps = rendered.resources.filter(
      (resource) => resource.type === "kubernetes:core/v1:ConfigMap",
    );
    assert.deepEqual(
      configMaps.map((resource) => resource.name),
      ["one/settings", "two/settings"],
    );
    assert.deepEqual(
      rendered.manifests
        .filter((manifest) => manifest.kind === "ConfigMap")
        .map((manifest: any) => manifest.metadata.name),
      ["settings", "settings"],
    );
  });
});

describe("getExistingNamespace", () => {
  it("reads the namespace through the given provider instead of creating it", async () => {
    const rendered = await render(() => {
      getExistingNamespace("kube-system", new k8s.Provider("cluster", { context: "test" }));
    });
    const provider = rendered.resources.find((resource) => resource.type === providerType);
    const namespace = rendered.resources.find((resource) => resource.type === namespaceType);
    assert.ok(provider && namespace);
    assert.equal(namespace.read, true);
    assert.ok(namespace.provider?.startsWith(`${provider.urn}::`), `the read uses ${namespace.provider}`);
    assert.equal(
      rendered.manifests.some((object) => object.kind === "Namespace"),
      false,
    );
  });

  it("reads a namespace once per parent however many helpers ask for it (the engine refuses a second read of one URN)", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const first = getExistingNamespace("kube-system", provider);
      assert.equal(getExistingNamespace("kube-system", provider), first);
      const app = createNamespace({ name: "notes", provider });
      // Under another parent it is a read of its own, with its own URN.
      assert.notEqual(getExistingNamespace("kube-system", provider, app), first);
      assert.equal(
        getExistingNamespace("kube-system", provider, app),
        getExistingNamespace("kube-system", provider, app),
      );
    });
    assert.deepEqual(rendered.errors, []);
    const reads = rendered.resources.filter((resource) => resource.type === namespaceType && resource.read);
    assert.equal(reads.length, 2);
    assert.notEqual(reads[0]?.urn, reads[1]?.urn);
  });

  it("parents objects created in an existing namespace to it, on the given provider", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createOneOfEach(getExistingNamespace("kube-system", provider));
    });
    assert.deepEqual(rendered.errors, []);
    const provider = rendered.resources.find((resource) => resource.type === providerType);
    const namespace = rendered.resources.find((resource) => resource.type === namespaceType);
    assert.ok(provider && namespace);
    const objects = rendered.resources.filter((resource) => resource !== provider && resource !== namespace);
    assert.deepEqual([...new Set(objects.map((resource) => resource.type))].sort(), namespacedTypes);
    for (const object of objects) {
      const what = `${object.type} ${object.name}`;
      assert.equal(object.parent, namespace.urn, `${what} is not parented to kube-system`);
      assert.ok(object.provider?.startsWith(`${provider.urn}::`), `${what} uses ${object.provider}`);
    }
    // The name comes from the namespace read from the cluster.
    for (const object of rendered.manifests) {
      const metadata = object.metadata as { name: string; namespace?: string };
      assert.equal(metadata.namespace, "kube-system", `${object.kind} ${metadata.name}`);
    }
    const release = objects.find((resource) => resource.type === "kubernetes:helm.sh/v3:Release");
    assert.equal(release?.inputs.namespace, "kube-system");
  });
});
