import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { createNamespace } from "./namespace";
import { createClusterRole, createRole } from "./rbac";
import { createServiceAccount } from "./service-account";

const readPods = { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] };

describe("createRole", () => {
  it("renders the rules, with resourceNames only where given", async () => {
    const { manifest } = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "apps", provider });
      createRole({
        name: "reader",
        namespace,
        serviceAccounts: [],
        rules: [readPods, { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["db"] }],
      });
    });
    assert.deepEqual(manifest("Role", "reader").rules, [
      readPods,
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["db"] },
    ]);
    assert.equal(manifest("Role", "reader").metadata.namespace, "apps");
  });

  it("binds exactly the given service accounts, each in its own namespace, to the role", async () => {
    const { manifest } = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const apps = createNamespace({ name: "apps", provider });
      const monitoring = createNamespace({ name: "monitoring", provider });
      createServiceAccount({ name: "unrelated", namespace: apps });
      createRole({
        name: "reader",
        namespace: apps,
        rules: [readPods],
        serviceAccounts: [
          createServiceAccount({ name: "web", namespace: apps }),
          createServiceAccount({ name: "prometheus", namespace: monitoring }),
        ],
      });
    });
    const binding = manifest("RoleBinding", "reader");
    assert.equal(binding.metadata.namespace, "apps");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "reader",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "web", namespace: "apps" },
      { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
    ]);
  });
});

describe("createClusterRole", () => {
  it("creates the cluster role and its binding through the explicit provider, outside any namespace", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "kube-tools", provider });
      createClusterRole({
        name: "node-reader",
        provider,
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] }],
        serviceAccounts: [createServiceAccount({ name: "agent", namespace })],
      });
    });
    const providerUrn = rendered.resources.find(
      (resource) => resource.type === "pulumi:providers:kubernetes",
    )?.urn;
    assert.ok(providerUrn);
    const clusterScoped = rendered.resources.filter((resource) =>
      [
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
      ].includes(resource.type),
    );
    assert.equal(clusterScoped.length, 2);
    for (const resource of clusterScoped) {
      assert.ok(
        resource.provider?.startsWith(`${providerUrn}::`),
        `${resource.type} uses ${resource.provider}`,
      );
      assert.equal(resource.parent, undefined);
    }
    assert.equal("namespace" in rendered.manifest("ClusterRole", "node-reader").metadata, false);
  });

  it("binds the cluster role to exactly the given service accounts", async () => {
    const { manifest } = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "kube-tools", provider });
      createClusterRole({
        name: "node-reader",
        provider,
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] }],
        serviceAccounts: [createServiceAccount({ name: "agent", namespace })],
      });
    });
    const binding = manifest("ClusterRoleBinding", "node-reader");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "node-reader",
    });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "agent", namespace: "kube-tools" }]);
    assert.deepEqual(manifest("ClusterRole", "node-reader").rules, [
      { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] },
    ]);
  });
});

describe("createServiceAccount", () => {
  it("mounts no API token by default and one when asked", async () => {
    const { manifest } = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "apps", provider });
      createServiceAccount({ name: "quiet", namespace });
      createServiceAccount({ name: "operator", namespace, automountToken: true });
    });
    assert.equal(manifest("ServiceAccount", "quiet").automountServiceAccountToken, false);
    assert.equal(manifest("ServiceAccount", "operator").automountServiceAccountToken, true);
  });
});
