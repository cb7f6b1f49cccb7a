import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { identityLabel } from "@infra/k8s";
import * as pulumi from "@pulumi/pulumi";
import { createPolicy } from "./policy";
import { renderErrors, renderPolicies } from "./testing/render-policies";

const namespaceLabel = "k8s:io.kubernetes.pod.namespace";
const allowHost = [{ peers: [{ entities: ["host" as const] }] }];

describe("createPolicy", () => {
  it("creates a CiliumNetworkPolicy in the given namespace", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "probes",
        description: "The node probes the pods.",
        namespace: cluster.namespace("apps"),
        subject: "all",
        ingress: allowHost,
      }),
    );
    const rendered = policy("probes");
    assert.equal(rendered.kind, "CiliumNetworkPolicy");
    assert.equal(rendered.apiVersion, "cilium.io/v2");
    assert.equal(rendered.metadata.namespace, "apps");
    assert.deepEqual(rendered.spec, {
      description: "The node probes the pods.",
      endpointSelector: {},
      ingress: [{ fromEntities: ["host"] }],
    });
  });

  it("creates a CiliumClusterwideNetworkPolicy without a namespace when given a provider", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "probes",
        description: "The node probes every pod.",
        provider: cluster.provider,
        subject: "all",
        ingress: allowHost,
      }),
    );
    const rendered = policy("probes");
    assert.equal(rendered.kind, "CiliumClusterwideNetworkPolicy");
    assert.equal(rendered.metadata.namespace, undefined);
  });

  it("selects a workload's pods by their identity label in a namespaced policy", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "web",
        description: "Probes reach web.",
        namespace: cluster.namespace("apps"),
        subject: { workload: cluster.workload("apps", "web") },
        ingress: allowHost,
      }),
    );
    assert.deepEqual(policy("web").spec.endpointSelector, { matchLabels: { [identityLabel]: "web" } });
  });

  it("confines a cluster-wide policy's workload subject to the workload's namespace", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "web",
        description: "Probes reach web.",
        provider: cluster.provider,
        subject: { workload: cluster.workload("apps", "web") },
        ingress: allowHost,
      }),
    );
    assert.deepEqual(policy("web").spec.endpointSelector, {
      matchLabels: { [identityLabel]: "web", [namespaceLabel]: "apps" },
    });
  });

  it("selects endpoints by Cilium labels, reserved ones included", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "health",
        description: "The node checks the health endpoint.",
        provider: cluster.provider,
        subject: { labels: { "reserved:health": "" } },
        ingress: allowHost,
      }),
    );
    assert.deepEqual(policy("health").spec.endpointSelector, { matchLabels: { "reserved:health": "" } });
  });

  it("selects a workload peer's pods in the workload's namespace", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "db",
        description: "The app reaches the database.",
        namespace: cluster.namespace("data"),
        subject: { workload: cluster.workload("data", "db") },
        ingress: [{ peers: [{ workload: cluster.workload("apps", "app") }], ports: [{ port: 5432 }] }],
      }),
    );
    assert.deepEqual(policy("db").spec.ingress, [
      {
        fromEndpoints: [{ matchLabels: { [identityLabel]: "app", [namespaceLabel]: "apps" } }],
        toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }],
      },
    ]);
  });

  it("turns a Service peer into its pods' selector and target port, never toServices", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "app",
        description: "The app reaches the database.",
        namespace: cluster.namespace("apps"),
        subject: { workload: cluster.workload("apps", "app") },
        egress: [{ peers: [{ service: cluster.service("data", "db", 5432) }] }],
      }),
    );
    assert.deepEqual(policy("app").spec.egress, [
      {
        toEndpoints: [{ matchLabels: { [identityLabel]: "db", [namespaceLabel]: "data" } }],
        toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }],
      },
    ]);
  });

  it("keeps the rule's own ports for a Service peer when it lists some", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "app",
        description: "The app reaches the database's metrics.",
        namespace: cluster.namespace("apps"),
        subject: { workload: cluster.workload("apps", "app") },
        egress: [{ peers: [{ service: cluster.service("data", "db", 5432) }], ports: [{ port: 9187 }] }],
      }),
    );
    assert.deepEqual(policy("app").spec.egress[0].toPorts, [{ ports: [{ port: "9187", protocol: "TCP" }] }]);
  });

  it("rejects a Service as the source of ingress traffic", async () => {
    const errors = await renderErrors((cluster) =>
      createPolicy({
        name: "app",
        description: "Wrong way round.",
        namespace: cluster.namespace("apps"),
        subject: { workload: cluster.workload("apps", "app") },
        ingress: [{ peers: [{ service: cluster.service("data", "db", 5432) }] }],
      }),
    );
    assert.match(errors.join("\n"), /Service peers are only allowed in egress rules/);
  });

  it("puts the DNS visibility rule first when egress names DNS names", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "app",
        description: "The app calls an API.",
        namespace: cluster.namespace("apps"),
        subject: "all",
        egress: [{ peers: [{ fqdns: ["api.example.com"] }], ports: [{ port: 443 }] }],
      }),
    );
    const [dns, api] = policy("app").spec.egress;
    assert.deepEqual(dns.toPorts[0].rules, { dns: [{ matchPattern: "*" }] });
    assert.deepEqual(dns.toEndpoints, [
      { matchLabels: { "k8s:k8s-app": "kube-dns", [namespaceLabel]: "kube-system" } },
    ]);
    assert.deepEqual(api, {
      toFQDNs: [{ matchName: "api.example.com" }],
      toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }],
    });
  });

  it("adds no DNS rule to a policy without DNS names", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "app",
        description: "The app calls the API server.",
        namespace: cluster.namespace("apps"),
        subject: "all",
        egress: [{ peers: [{ entities: ["kube-apiserver"] }] }],
      }),
    );
    assert.deepEqual(policy("app").spec.egress, [{ toEntities: ["kube-apiserver"] }]);
  });

  it("rejects a policy without rules, which would allow nothing", async () => {
    const errors = await renderErrors((cluster) =>
      createPolicy({
        name: "empty",
        description: "Nothing.",
        namespace: cluster.namespace("apps"),
        subject: "all",
        ingress: [],
      }),
    );
    assert.deepEqual(errors, ["Policy empty allows nothing: give it ingress or egress rules"]);
  });

  it("translates rules computed from another stack's outputs, beside rules known when it is written", async () => {
    const { policy } = await renderPolicies((cluster) =>
      createPolicy({
        name: "backups",
        description: "Backups reach their storage.",
        namespace: cluster.namespace("apps"),
        subject: { workload: cluster.workload("apps", "backup") },
        ingress: allowHost,
        egress: pulumi.output([{ peers: [{ cidrs: ["203.0.113.0/24"] }], ports: [{ port: 443 }] }]),
      }),
    );
    assert.deepEqual(policy("backups").spec, {
      description: "Backups reach their storage.",
      endpointSelector: { matchLabels: { [identityLabel]: "backup" } },
      ingress: [{ fromEntities: ["host"] }],
      egress: [
        { toCIDRSet: [{ cidr: "203.0.113.0/24" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
      ],
    });
  });

  it("reports a computed rule that allows nothing as the policy's error", async () => {
    const errors = await renderErrors((cluster) =>
      createPolicy({
        name: "nowhere",
        description: "Nothing.",
        namespace: cluster.namespace("apps"),
        subject: "all",
        egress: pulumi.output([]),
      }),
    );
    // The engine names the property the computation failed in.
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? "", /"spec": Policy nowhere allows nothing: give it ingress or egress rules$/);
  });
});
