import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";
import { createTraefikNamespaceAccess, servedNamespacesConfig } from "./rbac";

describe("createTraefikNamespaceAccess", () => {
  let rendered: RenderedProgram;

  before(async () => {
    rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createTraefikNamespaceAccess({
        name: "internal-gateway-notes",
        namespace: createNamespace({ name: "notes", provider }),
        serviceAccount: { name: "traefik", namespace: "internal-gateway" },
        served: { gateways: ["notes"], httpRoutes: ["notes", "notes-http-redirect"] },
      });
    });
    assert.deepEqual(rendered.errors, []);
  });

  it("binds a Role in the served namespace to the Traefik's account in its own namespace", () => {
    const binding = rendered.manifest("RoleBinding", "internal-gateway-notes");
    assert.equal(binding.metadata.namespace, "notes");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "internal-gateway-notes",
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "traefik", namespace: "internal-gateway" },
    ]);
  });

  it("lets it read what its Gateway API provider watches there, and write only the status of what it serves", () => {
    const role = rendered.manifest("Role", "internal-gateway-notes");
    assert.equal(role.metadata.namespace, "notes");
    assert.deepEqual(role.rules, [
      { apiGroups: [""], resources: ["services", "configmaps", "secrets"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      {
        apiGroups: ["gateway.networking.k8s.io"],
        resources: [
          "gateways",
          "httproutes",
          "grpcroutes",
          "tlsroutes",
          "referencegrants",
          "backendtlspolicies",
        ],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["gateway.networking.k8s.io"],
        resources: ["gateways/status"],
        verbs: ["update"],
        resourceNames: ["notes"],
      },
      {
        apiGroups: ["gateway.networking.k8s.io"],
        resources: ["httproutes/status"],
        verbs: ["update"],
        resourceNames: ["notes", "notes-http-redirect"],
      },
    ]);
  });

  it("grants nothing that creates, changes or deletes an object", () => {
    const verbs = rendered
      .manifest("Role", "internal-gateway-notes")
      .rules.flatMap((rule: Record<string, any>) => rule.verbs);
    assert.deepEqual([...new Set(verbs)].sort(), ["get", "list", "update", "watch"]);
  });

  it("renders objects the Kubernetes schemas accept", async () => {
    for (const object of rendered.manifests)
      assert.deepEqual(await validateObjectSchema(object), [], String(object.kind));
  });
});

describe("servedNamespacesConfig", () => {
  it("serves no namespace by default", () => {
    assert.deepEqual(servedNamespacesConfig.parse(undefined), []);
  });

  it("refuses a namespace listed twice or one that is not a DNS label", () => {
    assert.equal(servedNamespacesConfig.safeParse(["notes", "notes"]).success, false);
    assert.equal(servedNamespacesConfig.safeParse(["Notes"]).success, false);
  });
});
