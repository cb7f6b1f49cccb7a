import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canReach, checkReachability, explain, reachabilityMatrix } from "./evaluate";
import { ccnp, cnp, deployment, modelOf, openEverything } from "./testing";

const ns = "k8s:io.kubernetes.pod.namespace";

describe("both directions", () => {
  it("denies traffic between pods that no policy selects", () => {
    const model = modelOf([deployment("a", "client"), deployment("b", "server")]);
    assert.equal(canReach(model, "a/client", "b/server", 80), false);
  });

  it("needs an egress rule for the sender and an ingress rule for the receiver", () => {
    const egress = cnp("a", "client-out", {
      endpointSelector: { matchLabels: { app: "client" } },
      egress: [{ toEndpoints: [{ matchLabels: { app: "server", [ns]: "b" } }] }],
    });
    const ingress = cnp("b", "server-in", {
      endpointSelector: { matchLabels: { app: "server" } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: "client", [ns]: "a" } }] }],
    });
    const pods = [deployment("a", "client"), deployment("b", "server")];
    const flow = { from: "a/client", to: "b/server", port: 80 };
    assert.deepEqual(
      [explain(modelOf([...pods, egress]), flow).reason, explain(modelOf([...pods, ingress]), flow).reason],
      [
        "no ingress rule of a policy selecting b/server allows it",
        "no egress rule of a policy selecting a/client allows it",
      ],
    );
    assert.equal(explain(modelOf([...pods, egress, ingress]), flow).outcome, "allowed");
  });

  it("decides by the sender's egress alone when asked, whatever the receiver admits", () => {
    const egress = cnp("a", "client-out", {
      endpointSelector: { matchLabels: { app: "client" } },
      egress: [{ toEndpoints: [{ matchLabels: { app: "server", [ns]: "b" } }] }],
    });
    const model = modelOf([deployment("a", "client"), deployment("b", "server"), egress]);
    const flow = { from: "a/client", to: "b/server", port: 80 };
    assert.equal(explain(model, flow).outcome, "denied");
    assert.deepEqual(explain(model, flow, { senderOnly: true }), {
      ...flow,
      protocol: "TCP",
      outcome: "allowed",
      reason: "egress: CiliumNetworkPolicy a/client-out egress[0]",
    });
    assert.equal(
      explain(model, { ...flow, from: "b/server", to: "a/client" }, { senderOnly: true }).outcome,
      "denied",
    );
  });
});

describe("namespaces", () => {
  const pods = [deployment("a", "client"), deployment("b", "client"), deployment("b", "server")];

  it("reads a selector without a namespace in a CiliumNetworkPolicy as the policy's namespace", () => {
    const model = modelOf([
      ...pods,
      openEverything("egress"),
      cnp("b", "server-in", {
        endpointSelector: { matchLabels: { app: "server" } },
        ingress: [{ fromEndpoints: [{ matchLabels: { app: "client" } }] }],
      }),
    ]);
    assert.equal(canReach(model, "b/client", "b/server", 80), true);
    assert.equal(canReach(model, "a/client", "b/server", 80), false);
  });

  it("reads an empty selector in a CiliumNetworkPolicy as every pod of its namespace", () => {
    const model = modelOf([
      ...pods,
      openEverything("egress"),
      cnp("b", "within", { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] }),
    ]);
    assert.equal(canReach(model, "b/client", "b/server", 80), true);
    assert.equal(canReach(model, "a/client", "b/server", 80), false);
    assert.equal(canReach(model, "host", "b/server", 80), false);
  });

  it("reads an empty selector in a cluster-wide policy as every pod of every namespace, and nothing else", () => {
    const model = modelOf([
      ...pods,
      openEverything("egress"),
      ccnp("pods", { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] }),
    ]);
    assert.equal(canReach(model, "a/client", "b/server", 80), true);
    assert.equal(canReach(model, "host", "b/server", 80), false);
    assert.equal(canReach(model, "world", "b/server", 80), false);
  });

  it("keeps a namespace a selector names", () => {
    const model = modelOf([
      ...pods,
      openEverything("egress"),
      cnp("b", "server-in", {
        endpointSelector: { matchLabels: { app: "server" } },
        ingress: [{ fromEndpoints: [{ matchLabels: { app: "client", [ns]: "a" } }] }],
      }),
    ]);
    assert.equal(canReach(model, "a/client", "b/server", 80), true);
    assert.equal(canReach(model, "b/client", "b/server", 80), false);
  });

  it("confines a CiliumNetworkPolicy's subject to its namespace", () => {
    const model = modelOf([
      ...pods,
      openEverything("ingress"),
      cnp("a", "clients-out", { endpointSelector: { matchLabels: { app: "client" } }, egress: [{}] }),
    ]);
    assert.equal(canReach(model, "a/client", "b/server", 80), true);
    assert.equal(canReach(model, "b/client", "b/server", 80), false);
  });

  it("applies a cluster-wide policy's subject in every namespace", () => {
    const model = modelOf([
      ...pods,
      openEverything("ingress"),
      ccnp("clients-out", { endpointSelector: { matchLabels: { app: "client" } }, egress: [{}] }),
    ]);
    assert.equal(canReach(model, "a/client", "b/server", 80), true);
    assert.equal(canReach(model, "b/client", "b/server", 80), true);
    assert.equal(canReach(model, "b/server", "a/client", 80), false);
  });

  it("selects every pod of the namespaces an In expression lists", () => {
    const model = modelOf([
      ...pods,
      deployment("c", "client"),
      openEverything("egress"),
      cnp("b", "server-in", {
        endpointSelector: { matchLabels: { app: "server" } },
        ingress: [
          { fromEndpoints: [{ matchExpressions: [{ key: ns, operator: "In", values: ["a", "b"] }] }] },
        ],
      }),
    ]);
    assert.deepEqual(
      ["a/client", "b/client", "c/client"].map((from) => canReach(model, from, "b/server", 80)),
      [true, true, false],
    );
  });
});

describe("label selectors", () => {
  const pods = [
    deployment("a", "web", { labels: { tier: "front", team: "blue" } }),
    deployment("a", "api", { labels: { tier: "back" } }),
    deployment("a", "db"),
    deployment("a", "server"),
  ];
  const reachers = (selector: Record<string, unknown>) => {
    const model = modelOf([
      ...pods,
      openEverything("egress"),
      cnp("a", "server-in", {
        endpointSelector: { matchLabels: { app: "server" } },
        ingress: [{ fromEndpoints: [selector] }],
      }),
    ]);
    return ["a/web", "a/api", "a/db"].filter((from) => canReach(model, from, "a/server", 80));
  };

  it("matches In and NotIn on a label's value; NotIn also holds without the label", () => {
    assert.deepEqual(
      reachers({ matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] }),
      ["a/web", "a/api"],
    );
    assert.deepEqual(
      reachers({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }),
      ["a/api", "a/db"],
    );
  });

  it("matches Exists and DoesNotExist on a label's presence", () => {
    assert.deepEqual(reachers({ matchExpressions: [{ key: "tier", operator: "Exists" }] }), [
      "a/web",
      "a/api",
    ]);
    assert.deepEqual(reachers({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }), [
      "a/api",
      "a/db",
    ]);
  });

  it("requires every matchLabels entry and expression at once", () => {
    assert.deepEqual(
      reachers({
        matchLabels: { tier: "front" },
        matchExpressions: [{ key: "team", operator: "In", values: ["red"] }],
      }),
      [],
    );
  });

  it("matches a key with the k8s source prefix, and a key without one from any source", () => {
    assert.deepEqual(reachers({ matchLabels: { "k8s:tier": "back" } }), ["a/api"]);
    assert.deepEqual(reachers({ matchLabels: { "any:tier": "back" } }), ["a/api"]);
    assert.deepEqual(reachers({ matchLabels: { "reserved:tier": "back" } }), []);
  });
});

describe("ports", () => {
  const model = modelOf([
    deployment("a", "client"),
    deployment("a", "server", { ports: [{ name: "http", containerPort: 8080 }] }),
    openEverything("egress"),
    cnp("a", "server-in", {
      endpointSelector: { matchLabels: { app: "server" } },
      ingress: [
        { toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
        { toPorts: [{ ports: [{ port: "53" }] }] },
        { toPorts: [{ ports: [{ port: "30000", endPort: 30010, protocol: "UDP" }] }] },
        { toPorts: [{ ports: [{ port: "http", protocol: "TCP" }] }] },
      ],
    }),
  ]);

  it("allows a listed port on its protocol only", () => {
    assert.equal(canReach(model, "a/client", "a/server", 443, "TCP"), true);
    assert.equal(canReach(model, "a/client", "a/server", 443, "UDP"), false);
    assert.equal(canReach(model, "a/client", "a/server", 444, "TCP"), false);
  });

  it("takes a port without a protocol for every protocol", () => {
    assert.equal(canReach(model, "a/client", "a/server", 53, "UDP"), true);
    assert.equal(canReach(model, "a/client", "a/server", 53, "TCP"), true);
  });

  it("allows a range from its first to its last port", () => {
    assert.deepEqual(
      [29999, 30000, 30010, 30011].map((port) => canReach(model, "a/client", "a/server", port, "UDP")),
      [false, true, true, false],
    );
  });

  it("resolves a named port against the destination's container ports", () => {
    assert.equal(canReach(model, "a/client", "a/server", 8080), true);
    assert.equal(canReach(model, "a/client", "a/server", 8081), false);
  });

  it("allows every port when a rule has no toPorts", () => {
    const open = modelOf([
      deployment("a", "client"),
      deployment("a", "server"),
      openEverything("egress"),
      cnp("a", "server-in", { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] }),
    ]);
    assert.equal(canReach(open, "a/client", "a/server", 12345, "UDP"), true);
  });
});

describe("entities", () => {
  const pods = [deployment("a", "app")];
  const egressTo = (entities: string[]) =>
    cnp("a", "out", {
      endpointSelector: {},
      egress: [{ toEntities: entities, toPorts: [{ ports: [{ port: "6443" }] }] }],
    });

  it("selects the API server by kube-apiserver, and on k3s by host too, since it is the node", () => {
    assert.equal(
      canReach(modelOf([...pods, egressTo(["kube-apiserver"])]), "a/app", "kube-apiserver", 6443),
      true,
    );
    assert.equal(canReach(modelOf([...pods, egressTo(["host"])]), "a/app", "kube-apiserver", 6443), true);
    const remote = modelOf([...pods, egressTo(["host"])], { apiServerOnNode: false });
    assert.equal(canReach(remote, "a/app", "kube-apiserver", 6443), false);
  });

  it("selects the node, the health endpoint and pods with cluster, but not the world", () => {
    const model = modelOf([
      ...pods,
      deployment("b", "other"),
      openEverything("ingress"),
      egressTo(["cluster"]),
    ]);
    assert.deepEqual(
      ["host", "health", "b/other", "world"].map((to) => canReach(model, "a/app", to, 6443)),
      [true, true, true, false],
    );
  });

  it("selects the world, with or without an address, by world and by all", () => {
    for (const entity of ["world", "all"]) {
      const model = modelOf([...pods, egressTo([entity])]);
      assert.equal(canReach(model, "a/app", "world", 6443), true);
      assert.equal(canReach(model, "a/app", "world:203.0.113.7", 6443), true);
    }
  });

  it("does not police the node or the world as senders: the receiver's ingress decides", () => {
    const model = modelOf([
      ...pods,
      cnp("a", "in", { endpointSelector: {}, ingress: [{ fromEntities: ["host"] }] }),
    ]);
    assert.equal(canReach(model, "host", "a/app", 8080), true);
    assert.equal(canReach(model, "world", "a/app", 8080), false);
  });

  it("selects Cilium's health endpoint by its reserved label", () => {
    const model = modelOf([
      ccnp("health", {
        endpointSelector: { matchLabels: { "reserved:health": "" } },
        egress: [{ toEntities: ["host"] }],
      }),
    ]);
    assert.equal(canReach(model, "health", "host", 4240), true);
  });
});

describe("addresses and names", () => {
  const pods = [deployment("a", "app")];

  it("lets CIDR sets hold world addresses inside a range but outside its exceptions", () => {
    const model = modelOf([
      ...pods,
      cnp("a", "in", {
        endpointSelector: {},
        ingress: [{ fromCIDRSet: [{ cidr: "198.51.100.0/24", except: ["198.51.100.128/25"] }] }],
      }),
    ]);
    assert.deepEqual(
      ["world:198.51.100.7", "world:198.51.100.200", "world:203.0.113.1", "world", "host"].map((from) =>
        canReach(model, from, "a/app", 443),
      ),
      [true, false, false, false, false],
    );
  });

  it("lets a range of a whole address family hold the world at any address", () => {
    const model = modelOf([
      ...pods,
      cnp("a", "out", { endpointSelector: {}, egress: [{ toCIDR: ["0.0.0.0/0"] }] }),
    ]);
    assert.equal(canReach(model, "a/app", "world", 443), true);
  });

  it("resolves a CIDR group reference to the group's ranges, and a missing group to none", () => {
    const group = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumCIDRGroup",
      metadata: { name: "partners" },
      spec: { externalCIDRs: ["192.0.2.0/24"] },
    };
    const policy = (name: string) =>
      cnp("a", `in-${name}`, { endpointSelector: {}, ingress: [{ fromCIDRSet: [{ cidrGroupRef: name }] }] });
    assert.equal(
      canReach(modelOf([...pods, group, policy("partners")]), "world:192.0.2.9", "a/app", 443),
      true,
    );
    assert.equal(
      canReach(modelOf([...pods, group, policy("others")]), "world:192.0.2.9", "a/app", 443),
      false,
    );
  });

  const dns = {
    toEndpoints: [{}],
    toPorts: [{ ports: [{ port: "53" }], rules: { dns: [{ matchPattern: "*" }] } }],
  };

  it("lets FQDN rules reach the names they list, once DNS lookups go through Cilium's proxy", () => {
    const fqdn = { toFQDNs: [{ matchName: "api.example.com" }] };
    const withDns = modelOf([...pods, cnp("a", "out", { endpointSelector: {}, egress: [dns, fqdn] })]);
    assert.equal(canReach(withDns, "a/app", "world:api.example.com", 443), true);
    assert.equal(canReach(withDns, "a/app", "world:API.example.com.", 443), true);
    assert.equal(canReach(withDns, "a/app", "world:other.example.com", 443), false);
    assert.equal(canReach(withDns, "a/app", "world", 443), false);
    const withoutDns = modelOf([...pods, cnp("a", "out", { endpointSelector: {}, egress: [fqdn] })]);
    assert.equal(canReach(withoutDns, "a/app", "world:api.example.com", 443), false);
  });

  it("matches one label per star in an FQDN pattern, and several after a leading **.", () => {
    const model = modelOf([
      ...pods,
      cnp("a", "out", {
        endpointSelector: {},
        egress: [dns, { toFQDNs: [{ matchPattern: "*.example.com" }, { matchPattern: "**.example.org" }] }],
      }),
    ]);
    assert.deepEqual(
      ["a.example.com", "a.b.example.com", "example.com", "a.b.example.org"].map((name) =>
        canReach(model, "a/app", `world:${name}`, 443),
      ),
      [true, false, false, true],
    );
  });
});

describe("names standing for several endpoints", () => {
  const server = deployment("b", "server", { ports: [{ name: "http", containerPort: 8080 }] });
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "server", namespace: "b" },
    spec: {
      selector: { app: "server" },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };

  it("reaches a Service's pods on the target port its port names", () => {
    const model = modelOf([
      deployment("a", "client"),
      server,
      service,
      openEverything("egress"),
      cnp("b", "in", {
        endpointSelector: {},
        ingress: [{ toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] }],
      }),
    ]);
    assert.equal(canReach(model, "a/client", "service:b/server", 80), true);
  });

  it("takes traffic from the tailnet as traffic from the subnet router's pods", () => {
    const router = deployment("gw", "router", { env: [{ name: "TS_ROUTES", value: "10.43.0.0/16" }] });
    const model = modelOf([
      router,
      server,
      openEverything("egress"),
      cnp("b", "in", {
        endpointSelector: {},
        ingress: [{ fromEndpoints: [{ matchLabels: { app: "router", [ns]: "gw" } }] }],
      }),
    ]);
    assert.equal(canReach(model, "tailnet", "b/server", 8080), true);
    assert.equal(canReach(model, "world", "b/server", 8080), false);
  });

  it("reports partly allowed when only some of the endpoints may", () => {
    const model = modelOf([
      deployment("a", "client"),
      deployment("b", "stable", { labels: { app: "server", track: "stable" } }),
      deployment("b", "canary", { labels: { app: "server", track: "canary" } }),
      { ...service, spec: { selector: { app: "server" }, ports: [{ port: 80, targetPort: 8080 }] } },
      openEverything("egress"),
      cnp("b", "in", { endpointSelector: { matchLabels: { track: "stable" } }, ingress: [{}] }),
    ]);
    const result = explain(model, { from: "a/client", to: "service:b/server", port: 80 });
    assert.equal(result.outcome, "partly allowed");
    assert.match(
      result.reason,
      /a\/client → b\/canary: no ingress rule of a policy selecting b\/canary allows it/,
    );
  });
});

describe("reachabilityMatrix", () => {
  it("gives each flow its outcome and what decides it", () => {
    const model = modelOf([
      deployment("a", "app"),
      cnp("a", "out", {
        endpointSelector: {},
        egress: [{ toEntities: ["world"], toPorts: [{ ports: [{ port: "443" }] }] }],
      }),
    ]);
    assert.deepEqual(
      reachabilityMatrix(model, [
        { from: "a/app", to: "world", port: 443 },
        { from: "world", to: "a/app", port: 443, protocol: "UDP" },
      ]),
      [
        {
          from: "a/app",
          to: "world",
          port: 443,
          protocol: "TCP",
          outcome: "allowed",
          reason: "egress: CiliumNetworkPolicy a/out egress[0]; ingress: world is not policed",
        },
        {
          from: "world",
          to: "a/app",
          port: 443,
          protocol: "UDP",
          outcome: "denied",
          reason: "no ingress rule of a policy selecting a/app allows it",
        },
      ],
    );
  });
});

describe("checkReachability", () => {
  const model = modelOf([
    deployment("a", "client"),
    deployment("b", "server"),
    cnp("a", "out", {
      endpointSelector: { matchLabels: { app: "client" } },
      egress: [
        {
          toEndpoints: [{ matchLabels: { [ns]: "b" } }],
          toPorts: [{ ports: [{ port: "80", protocol: "TCP" }] }],
        },
      ],
    }),
    cnp("b", "in", { endpointSelector: {}, ingress: [{ fromEntities: ["cluster"] }] }),
  ]);

  it("passes when every flow has the expected outcome", () => {
    assert.deepEqual(
      checkReachability(model, [
        { from: "a/client", to: "b/server", port: 80, allowed: true },
        { from: "a/client", to: "b/server", port: 81, allowed: false },
      ]),
      [],
    );
  });

  it("names each path whose outcome differs, with what allows or denies it", () => {
    assert.deepEqual(
      checkReachability(model, [
        { from: "a/client", to: "b/server", port: 81, allowed: true },
        { from: "a/client", to: "b/server", port: 80, allowed: false },
      ]),
      [
        "a/client → b/server:81/TCP: expected allowed, got denied (no egress rule of a policy selecting a/client allows it)",
        "a/client → b/server:80/TCP: expected denied, got allowed (egress: CiliumNetworkPolicy a/out egress[0]; ingress: CiliumNetworkPolicy b/in ingress[0])",
      ],
    );
  });
});
