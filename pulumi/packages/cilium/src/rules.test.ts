import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cidrContains } from "./cidr";
import { dnsVisibilityRule, translateRule } from "./rules";

const namespaceLabel = "k8s:io.kubernetes.pod.namespace";

describe("translateRule", () => {
  it("selects pods of a named namespace with their labels and the namespace label", () => {
    const [rule] = translateRule({ peers: [{ endpoints: { app: "db" }, namespace: "data" }] }, "egress");
    assert.deepEqual(rule, { toEndpoints: [{ matchLabels: { app: "db", [namespaceLabel]: "data" } }] });
  });

  it("leaves the namespace of an endpoints peer without one to the policy", () => {
    const [rule] = translateRule({ peers: [{ endpoints: { app: "db" } }] }, "ingress");
    assert.deepEqual(rule, { fromEndpoints: [{ matchLabels: { app: "db" } }] });
  });

  it("selects every pod of the listed namespaces with an In expression", () => {
    const [rule] = translateRule({ peers: [{ namespaces: ["a", "b"] }] }, "ingress");
    assert.deepEqual(rule, {
      fromEndpoints: [{ matchExpressions: [{ key: namespaceLabel, operator: "In", values: ["a", "b"] }] }],
    });
  });

  it("names entities as toEntities on egress and fromEntities on ingress", () => {
    const peers = [{ entities: ["host" as const, "kube-apiserver" as const] }];
    assert.deepEqual(translateRule({ peers }, "egress"), [{ toEntities: ["host", "kube-apiserver"] }]);
    assert.deepEqual(translateRule({ peers }, "ingress"), [{ fromEntities: ["host", "kube-apiserver"] }]);
  });

  it("attaches each CIDR exception to the range that contains it", () => {
    const [rule] = translateRule(
      { peers: [{ cidrs: ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"], except: ["10.1.0.0/16"] }] },
      "egress",
    );
    assert.deepEqual(rule, {
      toCIDRSet: [
        { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] },
        { cidr: "192.168.0.0/16" },
        { cidr: "2001:db8::/32" },
      ],
    });
  });

  it("rejects a CIDR exception that lies outside every allowed range", () => {
    assert.throws(
      () => translateRule({ peers: [{ cidrs: ["10.0.0.0/8"], except: ["172.16.0.0/12"] }] }, "ingress"),
      /172\.16\.0\.0\/12 lie outside every allowed range/,
    );
  });

  it("rejects an exception that is not in CIDR notation", () => {
    assert.throws(
      () => translateRule({ peers: [{ cidrs: ["10.0.0.0/8"], except: ["10.1.0.0"] }] }, "egress"),
      /"10\.1\.0\.0" is not an address range in CIDR notation/,
    );
  });

  it("refers to a CiliumCIDRGroup by name", () => {
    const [rule] = translateRule({ peers: [{ cidrGroup: "cloudflare" }] }, "ingress");
    assert.deepEqual(rule, { fromCIDRSet: [{ cidrGroupRef: "cloudflare" }] });
  });

  it("matches DNS names exactly and patterns with wildcards", () => {
    const rules = translateRule(
      { peers: [{ fqdns: ["api.example.com"] }, { fqdnPatterns: ["*.example.org"] }] },
      "egress",
    );
    assert.deepEqual(rules, [
      { toFQDNs: [{ matchName: "api.example.com" }] },
      { toFQDNs: [{ matchPattern: "*.example.org" }] },
    ]);
  });

  it("gives every port its protocol, TCP when omitted, and a range its end port", () => {
    const [rule] = translateRule(
      {
        peers: [{ entities: ["world"] }],
        ports: [
          { port: 443 },
          { port: 53, protocol: "UDP" },
          { port: 30000, endPort: 30100, protocol: "ANY" },
        ],
      },
      "egress",
    );
    assert.deepEqual(rule?.toPorts, [
      {
        ports: [
          { port: "443", protocol: "TCP" },
          { port: "53", protocol: "UDP" },
          { port: "30000", endPort: 30100, protocol: "ANY" },
        ],
      },
    ]);
  });

  it("allows every port when a rule lists none", () => {
    for (const ports of [undefined, []]) {
      const [rule] = translateRule(
        { peers: [{ entities: ["host"] }], ...(ports ? { ports } : {}) },
        "ingress",
      );
      assert.deepEqual(rule, { fromEntities: ["host"] });
    }
  });

  it("makes each peer its own rule with the rule's ports", () => {
    const rules = translateRule(
      { peers: [{ entities: ["host"] }, { cidrs: ["198.51.100.0/24"] }], ports: [{ port: 9100 }] },
      "ingress",
    );
    const toPorts = [{ ports: [{ port: "9100", protocol: "TCP" }] }];
    assert.deepEqual(rules, [
      { fromEntities: ["host"], toPorts },
      { fromCIDRSet: [{ cidr: "198.51.100.0/24" }], toPorts },
    ]);
  });

  it("rejects DNS names as the source of ingress traffic", () => {
    assert.throws(
      () => translateRule({ peers: [{ fqdns: ["example.com"] }] }, "ingress"),
      /only allowed in egress/,
    );
    assert.throws(
      () => translateRule({ peers: [{ fqdnPatterns: ["*.example.com"] }] }, "ingress"),
      /only allowed in egress/,
    );
  });

  it("rejects a rule without peers, which would open nothing", () => {
    assert.throws(() => translateRule({ peers: [], ports: [{ port: 80 }] }, "ingress"), /at least one peer/);
  });
});

describe("dnsVisibilityRule", () => {
  it("sends queries to kube-dns on UDP and TCP 53 through Cilium's DNS proxy for every name", () => {
    assert.deepEqual(dnsVisibilityRule(), {
      toEndpoints: [{ matchLabels: { "k8s:k8s-app": "kube-dns", [namespaceLabel]: "kube-system" } }],
      toPorts: [
        {
          ports: [
            { port: "53", protocol: "UDP" },
            { port: "53", protocol: "TCP" },
          ],
          rules: { dns: [{ matchPattern: "*" }] },
        },
      ],
    });
  });
});

describe("cidrContains", () => {
  it("holds for a range inside another of the same family only", () => {
    assert.equal(cidrContains("10.0.0.0/8", "10.20.0.0/16"), true);
    assert.equal(cidrContains("10.0.0.0/8", "10.0.0.0/8"), true);
    assert.equal(cidrContains("10.20.0.0/16", "10.0.0.0/8"), false);
    assert.equal(cidrContains("10.0.0.0/8", "11.0.0.0/16"), false);
    assert.equal(cidrContains("2001:db8::/32", "2001:db8:1::/48"), true);
    assert.equal(cidrContains("0.0.0.0/0", "2001:db8::/32"), false);
  });
});
