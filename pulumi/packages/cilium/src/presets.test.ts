import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { identityLabel } from "@infra/k8s";
import { buildModel, checkReachability, explain } from "@tools/synth/src/reachability";
import {
  allowFromNamespaces,
  allowToApiServer,
  allowToFqdns,
  allowToInternet,
  allowToService,
  allowWithinNamespace,
} from "./presets";
import { renderPolicies } from "./testing/render-policies";

const namespaceLabel = "k8s:io.kubernetes.pod.namespace";
const tcp = (port: number) => ({ port: String(port), protocol: "TCP" });
/** What the rendered objects allow, read by synth's reachability model (k3s's own pods left out). */
const modelOf = (manifests: Record<string, unknown>[]) => buildModel(manifests, { systemPods: [] });

describe("allowWithinNamespace", () => {
  it("lets every pod of the namespace send to and receive from the namespace's pods", async () => {
    const { policy } = await renderPolicies((cluster) => allowWithinNamespace(cluster.namespace("apps")));
    const rendered = policy("allow-within-namespace");
    assert.equal(rendered.kind, "CiliumNetworkPolicy");
    assert.equal(rendered.metadata.namespace, "apps");
    // Selectors without a namespace mean the policy's own namespace in a CiliumNetworkPolicy.
    assert.deepEqual(rendered.spec.endpointSelector, {});
    assert.deepEqual(rendered.spec.ingress, [{ fromEndpoints: [{ matchLabels: {} }] }]);
    assert.deepEqual(rendered.spec.egress, [{ toEndpoints: [{ matchLabels: {} }] }]);
  });

  it("opens every port between the namespace's pods and nothing across its border", async () => {
    const { manifests } = await renderPolicies((cluster) => {
      cluster.workload("apps", "a");
      cluster.workload("apps", "b");
      cluster.workload("other", "c");
      allowWithinNamespace(cluster.namespace("apps"));
    });
    assert.deepEqual(
      checkReachability(modelOf(manifests), [
        { from: "apps/a", to: "apps/b", port: 12345, protocol: "UDP", allowed: true },
        { from: "apps/b", to: "apps/a", port: 80, allowed: true },
        { from: "other/c", to: "apps/a", port: 80, allowed: false },
        { from: "apps/a", to: "other/c", port: 80, allowed: false },
      ]),
      [],
    );
  });
});

describe("allowFromNamespaces", () => {
  it("lets pods of the listed namespaces reach the workload on the given ports", async () => {
    const { policy } = await renderPolicies((cluster) =>
      allowFromNamespaces({
        workload: cluster.workload("data", "db"),
        namespaces: ["apps", "jobs"],
        ports: [{ port: 5432 }],
      }),
    );
    const rendered = policy("db-from-namespaces");
    assert.equal(rendered.metadata.namespace, "data");
    assert.deepEqual(rendered.spec.endpointSelector, { matchLabels: { [identityLabel]: "db" } });
    assert.deepEqual(rendered.spec.ingress, [
      {
        fromEndpoints: [
          { matchExpressions: [{ key: namespaceLabel, operator: "In", values: ["apps", "jobs"] }] },
        ],
        toPorts: [{ ports: [tcp(5432)] }],
      },
    ]);
    assert.equal(rendered.spec.egress, undefined);
  });

  it("allows every port when none are given", async () => {
    const { policy } = await renderPolicies((cluster) =>
      allowFromNamespaces({
        workload: cluster.workload("data", "db"),
        namespaces: ["apps"],
        name: "db-apps",
      }),
    );
    assert.equal(policy("db-apps").spec.ingress[0].toPorts, undefined);
  });

  it("opens the workload's side only: the clients still need their own egress", async () => {
    const { manifests } = await renderPolicies((cluster) => {
      cluster.workload("apps", "client");
      allowFromNamespaces({
        workload: cluster.workload("data", "db"),
        namespaces: ["apps"],
        ports: [{ port: 5432 }],
      });
    });
    const model = modelOf(manifests);
    assert.equal(
      explain(model, { from: "apps/client", to: "data/db", port: 5432 }).reason,
      "no egress rule of a policy selecting apps/client allows it",
    );
    assert.match(
      explain(model, { from: "apps/client", to: "data/db", port: 5433 }).reason,
      /no ingress rule/,
    );
  });
});

describe("allowToService", () => {
  it("lets the client out to the Service's pods and the pods accept the client, both on its port", async () => {
    const { policy, policies } = await renderPolicies((cluster) =>
      allowToService({ from: cluster.workload("apps", "app"), service: cluster.service("data", "db", 5432) }),
    );
    assert.equal(policies.length, 2);
    const egress = policy("app-to-db-egress");
    assert.equal(egress.metadata.namespace, "apps");
    assert.deepEqual(egress.spec.endpointSelector, { matchLabels: { [identityLabel]: "app" } });
    assert.deepEqual(egress.spec.egress, [
      {
        toEndpoints: [{ matchLabels: { [identityLabel]: "db", [namespaceLabel]: "data" } }],
        toPorts: [{ ports: [tcp(5432)] }],
      },
    ]);
    const ingress = policy("app-to-db-ingress");
    assert.equal(ingress.metadata.namespace, "data");
    assert.deepEqual(ingress.spec.endpointSelector, { matchLabels: { [identityLabel]: "db" } });
    assert.deepEqual(ingress.spec.ingress, [
      {
        fromEndpoints: [{ matchLabels: { [identityLabel]: "app", [namespaceLabel]: "apps" } }],
        toPorts: [{ ports: [tcp(5432)] }],
      },
    ]);
  });

  it("opens the client's way to the Service's pods on its port, and no other", async () => {
    const { manifests } = await renderPolicies((cluster) => {
      cluster.workload("apps", "other");
      allowToService({ from: cluster.workload("apps", "app"), service: cluster.service("data", "db", 5432) });
    });
    assert.deepEqual(
      checkReachability(modelOf(manifests), [
        { from: "apps/app", to: "service:data/db", port: 5432, allowed: true },
        { from: "apps/app", to: "data/db", port: 5433, allowed: false },
        { from: "apps/other", to: "data/db", port: 5432, allowed: false },
        { from: "data/db", to: "apps/app", port: 5432, allowed: false },
      ]),
      [],
    );
  });
});

describe("allowToApiServer", () => {
  it("lets the workload reach the kube-apiserver entity on 6443 only", async () => {
    const { policy } = await renderPolicies((cluster) =>
      allowToApiServer(cluster.workload("apps", "operator")),
    );
    const rendered = policy("operator-to-api-server");
    assert.deepEqual(rendered.spec.endpointSelector, { matchLabels: { [identityLabel]: "operator" } });
    assert.deepEqual(rendered.spec.egress, [
      { toEntities: ["kube-apiserver"], toPorts: [{ ports: [tcp(6443)] }] },
    ]);
  });

  it("opens the way to the API server and nowhere else", async () => {
    const { manifests } = await renderPolicies((cluster) =>
      allowToApiServer(cluster.workload("apps", "operator")),
    );
    assert.deepEqual(
      checkReachability(modelOf(manifests), [
        { from: "apps/operator", to: "kube-apiserver", port: 6443, allowed: true },
        { from: "apps/operator", to: "kube-apiserver", port: 10250, allowed: false },
        { from: "apps/operator", to: "world", port: 6443, allowed: false },
      ]),
      [],
    );
  });
});

describe("allowToInternet", () => {
  it("lets the workload reach the world on HTTPS by default", async () => {
    const { policy } = await renderPolicies((cluster) =>
      allowToInternet(cluster.workload("apps", "fetcher")),
    );
    assert.deepEqual(policy("fetcher-to-internet").spec.egress, [
      { toEntities: ["world"], toPorts: [{ ports: [tcp(443)] }] },
    ]);
  });

  it("uses the given ports and protocols instead", async () => {
    const { policy } = await renderPolicies((cluster) =>
      allowToInternet(cluster.workload("apps", "clock"), [{ port: 123, protocol: "UDP" }]),
    );
    assert.deepEqual(policy("clock-to-internet").spec.egress[0].toPorts, [
      { ports: [{ port: "123", protocol: "UDP" }] },
    ]);
  });

  it("opens the way to any outside address on its ports, but not to the node", async () => {
    const { manifests } = await renderPolicies((cluster) =>
      allowToInternet(cluster.workload("apps", "fetcher")),
    );
    assert.deepEqual(
      checkReachability(modelOf(manifests), [
        { from: "apps/fetcher", to: "world:198.51.100.7", port: 443, allowed: true },
        { from: "apps/fetcher", to: "world", port: 80, allowed: false },
        { from: "apps/fetcher", to: "host", port: 443, allowed: false },
      ]),
      [],
    );
  });
});

describe("allowToFqdns", () => {
  it("lets the workload reach exact names and wildcard patterns on HTTPS, with the DNS rule", async () => {
    const { policy } = await renderPolicies((cluster) =>
      allowToFqdns(cluster.workload("apps", "backup"), ["s3.example.com", "*.backblazeb2.com"]),
    );
    const [dns, ...rules] = policy("backup-to-fqdns").spec.egress;
    assert.deepEqual(dns.toPorts[0].rules, { dns: [{ matchPattern: "*" }] });
    assert.deepEqual(rules, [
      { toFQDNs: [{ matchName: "s3.example.com" }], toPorts: [{ ports: [tcp(443)] }] },
      { toFQDNs: [{ matchPattern: "*.backblazeb2.com" }], toPorts: [{ ports: [tcp(443)] }] },
    ]);
  });

  it("opens the way to the listed names only, their lookups seen by Cilium's DNS proxy", async () => {
    const { manifests } = await renderPolicies((cluster) =>
      allowToFqdns(cluster.workload("apps", "backup"), ["s3.example.com", "*.backblazeb2.com"]),
    );
    assert.deepEqual(
      checkReachability(modelOf(manifests), [
        { from: "apps/backup", to: "world:s3.example.com", port: 443, allowed: true },
        { from: "apps/backup", to: "world:eu.backblazeb2.com", port: 443, allowed: true },
        { from: "apps/backup", to: "world:example.org", port: 443, allowed: false },
        { from: "apps/backup", to: "world:s3.example.com", port: 80, allowed: false },
      ]),
      [],
    );
  });
});
