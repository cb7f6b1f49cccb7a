import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { createDashboardAccess, loginAccountName } from "./access";

/** Renders the dashboard's access objects in namespace `kubernetes-dashboard`. */
async function renderAccess(admin: boolean) {
  const rendered = await render(() => {
    const provider = new k8s.Provider("cluster", { context: "test" });
    const namespace = createNamespace({ name: "kubernetes-dashboard", provider });
    createDashboardAccess({ namespace, provider, admin });
  });
  assert.deepEqual(rendered.errors, []);
  return rendered;
}

const kinds = (manifests: Record<string, any>[]) =>
  manifests.map((object) => `${object.kind}/${object.metadata.name}`).sort();

describe("createDashboardAccess", () => {
  it("creates a login account without a mounted or stored token", async () => {
    const { manifest, manifests } = await renderAccess(false);
    const account = manifest("ServiceAccount", loginAccountName);
    assert.equal(account.metadata.namespace, "kubernetes-dashboard");
    assert.equal(account.automountServiceAccountToken, false);
    assert.ok(!manifests.some((object) => object.kind === "Secret"));
  });

  it("binds the login account to a read-only role by default, and to nothing else", async () => {
    const { manifest, manifests } = await renderAccess(false);
    assert.deepEqual(kinds(manifests), [
      "ClusterRole/dashboard-read-only",
      "ClusterRoleBinding/dashboard-read-only",
      "Namespace/kubernetes-dashboard",
      `ServiceAccount/${loginAccountName}`,
    ]);
    const binding = manifest("ClusterRoleBinding", "dashboard-read-only");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "dashboard-read-only",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: loginAccountName, namespace: "kubernetes-dashboard" },
    ]);
  });

  it("lets the read-only role only get, list and watch, and never touch Secrets", async () => {
    const { manifest } = await renderAccess(false);
    const rules: Record<string, string[]>[] = manifest("ClusterRole", "dashboard-read-only").rules;
    for (const rule of rules) {
      assert.deepEqual(rule.verbs, ["get", "list", "watch"]);
      assert.ok(!rule.resources?.includes("secrets"), `rule for ${rule.apiGroups} grants secrets`);
      assert.ok(!rule.resources?.includes("*"), `rule for ${rule.apiGroups} grants every resource`);
    }
    const core = rules.find((rule) => rule.apiGroups?.includes(""));
    assert.ok(core?.resources?.includes("pods") && core.resources.includes("pods/log"));
  });

  it("binds the login account to cluster-admin, and creates no read-only role, when admin is asked for", async () => {
    const { manifest, manifests } = await renderAccess(true);
    assert.deepEqual(kinds(manifests), [
      "ClusterRoleBinding/dashboard-admin",
      "Namespace/kubernetes-dashboard",
      `ServiceAccount/${loginAccountName}`,
    ]);
    const binding = manifest("ClusterRoleBinding", "dashboard-admin");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "cluster-admin",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: loginAccountName, namespace: "kubernetes-dashboard" },
    ]);
  });
});
