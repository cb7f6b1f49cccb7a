import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chartPods } from "./charts";
import { buildModel } from "./model";
import { egressPaths, openPaths, probePorts, probeSources } from "./probes";
import { ccnp, cnp, deployment, modelOf } from "./testing";

describe("buildModel endpoints", () => {
  it("gives a workload's endpoint its pod labels and namespace, service account and cluster in Cilium's form", () => {
    const namespace = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "apps", labels: { team: "blue" } },
    };
    const web = deployment("apps", "web", { labels: { tier: "front" } }) as Record<string, any>;
    web.spec.template.spec.serviceAccountName = "web";
    const [endpoint] = modelOf([namespace, web]).endpoints;
    assert.deepEqual(endpoint?.labels, {
      "k8s:app": "web",
      "k8s:tier": "front",
      "k8s:io.cilium.k8s.namespace.labels.team": "blue",
      "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": "apps",
      "k8s:io.kubernetes.pod.namespace": "apps",
      "k8s:io.cilium.k8s.policy.serviceaccount": "web",
      "k8s:io.cilium.k8s.policy.cluster": "default",
    });
    assert.equal(endpoint?.enforced, true);
  });

  it("reads the pods of Jobs and CronJobs, and takes host-network pods for the node", () => {
    const job = {
      kind: "Job",
      metadata: { name: "once", namespace: "a" },
      spec: { template: { metadata: { labels: { app: "once" } }, spec: {} } },
    };
    const cron = {
      kind: "CronJob",
      metadata: { name: "nightly", namespace: "a" },
      spec: {
        jobTemplate: {
          spec: { template: { metadata: { labels: { app: "nightly" } }, spec: { hostNetwork: true } } },
        },
      },
    };
    const [once, nightly] = modelOf([job, cron]).endpoints;
    assert.equal(once?.labels["k8s:app"], "once");
    assert.deepEqual(
      [nightly?.name, nightly?.labels, nightly?.enforced],
      ["a/nightly", { "reserved:host": "", "reserved:kube-apiserver": "" }, false],
    );
  });

  it("adds k3s's CoreDNS, metrics-server and local-path provisioner unless told otherwise", () => {
    const names = buildModel([]).endpoints.map((endpoint) => endpoint.name);
    assert.deepEqual(names, [
      "kube-system/coredns",
      "kube-system/metrics-server",
      "kube-system/local-path-provisioner",
      "host",
      "kube-apiserver",
      "health",
    ]);
  });

  it("adds the pods of a known chart's release and refuses a release of an unknown chart", () => {
    const traefik = {
      name: "traefik",
      namespace: "gw",
      chart: "traefik",
      values: { instanceLabelOverride: "traefik" },
    };
    const model = modelOf([], { releases: [traefik] });
    assert.deepEqual(model.endpoints[0]?.labels["k8s:app.kubernetes.io/instance"], "traefik");
    assert.throws(
      () => modelOf([], { releases: [{ ...traefik, chart: "mystery" }] }),
      /installs chart "mystery", whose pods the model does not know/,
    );
  });
});

describe("buildModel policies", () => {
  it("refuses what it does not model, naming each rule", () => {
    const policy = cnp("a", "odd", {
      endpointSelector: {},
      ingressDeny: [{ fromEntities: ["world"] }],
      egress: [
        { toServices: [{ k8sService: { serviceName: "db", namespace: "a" } }] },
        { toEndpoints: [{}], toEntities: ["host"] },
        {
          toEntities: ["world"],
          toPorts: [{ ports: [{ port: "80" }], rules: { http: [{ method: "GET" }] } }],
        },
      ],
    });
    assert.throws(
      () => modelOf([policy]),
      (error: Error) => {
        assert.deepEqual(error.message.split("\n").slice(1), [
          "  - CiliumNetworkPolicy a/odd: ingressDeny is not modelled",
          "  - CiliumNetworkPolicy a/odd egress[0]: toServices is not modelled",
          "  - CiliumNetworkPolicy a/odd egress[1]: combines toEndpoints and toEntities, which Cilium rejects",
          "  - CiliumNetworkPolicy a/odd egress[2]: L7 rules.http are not modelled",
        ]);
        return true;
      },
    );
  });

  it("reads every spec of a policy with several", () => {
    const policy = {
      ...ccnp("two", {}),
      spec: undefined,
      specs: [
        { endpointSelector: {}, ingress: [{}] },
        { endpointSelector: {}, egress: [{}] },
      ],
    };
    assert.deepEqual(
      modelOf([policy]).policies.map((read) => read.id),
      ["CiliumClusterwideNetworkPolicy two specs[0]", "CiliumClusterwideNetworkPolicy two specs[1]"],
    );
  });
});

describe("probes", () => {
  const objects = [
    deployment("a", "app", { ports: [{ containerPort: 8080 }] }),
    cnp("a", "in", {
      endpointSelector: {},
      ingress: [
        {
          fromCIDRSet: [{ cidr: "198.51.100.0/24", except: ["198.51.100.0/25"] }],
          toPorts: [{ ports: [{ port: "30000", endPort: 30010 }] }],
        },
      ],
      egress: [{ toFQDNs: [{ matchPattern: "*.example.com" }] }],
    }),
  ];
  const model = modelOf(objects);

  it("probes every port a rule or container names and one nothing names, on every protocol", () => {
    const ports = probePorts(model);
    // 6443: the API server's port.
    assert.deepEqual([...new Set(ports.map((probe) => probe.port))], [1, 6443, 8080, 30000, 30010]);
    assert.deepEqual(
      ports.filter((probe) => probe.port === 1).map((probe) => probe.protocol),
      ["TCP", "UDP", "SCTP"],
    );
  });

  it("probes the world where a range's allowance may begin: its first address and right after an exception", () => {
    assert.deepEqual(
      probeSources(model).filter((source) => source.startsWith("world")),
      ["world", "world:198.51.100.0", "world:198.51.100.128", "world:x.example.com"],
    );
  });

  it("finds a path open only past an exception that starts its range", () => {
    assert.deepEqual(
      openPaths(model, "a/app")
        .filter((path) => path.from.startsWith("world"))
        .map((path) => `${path.from} ${path.port}/${path.protocol}`),
      [
        "world:198.51.100.128 30000/TCP",
        "world:198.51.100.128 30000/UDP",
        "world:198.51.100.128 30000/SCTP",
        "world:198.51.100.128 30010/TCP",
        "world:198.51.100.128 30010/UDP",
        "world:198.51.100.128 30010/SCTP",
      ],
    );
  });

  it("finds every destination an endpoint's egress reaches, down to the names a rule allows", () => {
    assert.deepEqual(
      [...new Set(egressPaths(model, "a/app").map((path) => path.to))],
      // The FQDN rule matches a name only with its lookups through the DNS proxy, which no rule
      // sends: nothing is open.
      [],
    );
    const withDns = modelOf([
      ...objects,
      cnp("a", "dns", {
        endpointSelector: {},
        egress: [
          {
            toEndpoints: [
              {
                matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" },
              },
            ],
            toPorts: [{ ports: [{ port: "53", protocol: "UDP" }], rules: { dns: [{ matchPattern: "*" }] } }],
          },
        ],
      }),
    ]);
    const paths = egressPaths(withDns, "a/app");
    // The names the pattern matches, on every port (the rule names none); kube-dns answers
    // nothing here, since no policy of its admits the lookups.
    assert.deepEqual([...new Set(paths.map((path) => path.to))], ["world:x.example.com"]);
    assert.equal(
      paths.filter((path) => path.to === "world:x.example.com").length,
      probePorts(withDns).length,
    );
  });

  it("finds, by an endpoint's own egress alone, destinations whose ingress admits nothing", () => {
    const sender = modelOf([
      ...objects,
      deployment("b", "server", { ports: [{ containerPort: 80 }] }),
      cnp("a", "to-server", {
        endpointSelector: {},
        egress: [
          {
            toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "b" } }],
            toPorts: [{ ports: [{ port: "80", protocol: "TCP" }] }],
          },
        ],
      }),
    ]);
    const describe = (paths: { to: string; port: number; protocol: string }[]) =>
      paths.map((path) => `${path.to}:${path.port}/${path.protocol}`);
    assert.deepEqual(describe(egressPaths(sender, "a/app")), []);
    assert.deepEqual(describe(egressPaths(sender, "a/app", undefined, { senderOnly: true })), [
      "b/server:80/TCP",
    ]);
  });
});

describe("chartPods", () => {
  it("labels Traefik's pods with the chart's name and instance, and lists its entrypoints", () => {
    const [pod] =
      chartPods.traefik?.({ name: "public", namespace: "edge", chart: "traefik", values: {} }) ?? [];
    assert.equal(pod?.labels["app.kubernetes.io/name"], "traefik");
    assert.equal(pod?.labels["app.kubernetes.io/instance"], "public-edge");
    assert.deepEqual(
      pod?.ports.map((port) => port.port),
      [8080, 9100, 8000, 8443],
    );
  });

  it("runs Traefik's pods as the release's full name, or as the account the values name", () => {
    const account = (name: string, values: Record<string, unknown>) =>
      chartPods.traefik?.({ name, namespace: "edge", chart: "traefik", values })[0]?.serviceAccount;
    assert.equal(account("public", {}), "public-traefik");
    assert.equal(account("traefik", {}), "traefik");
    assert.equal(account("traefik", { serviceAccount: { name: "edge-proxy" } }), "edge-proxy");
  });
});
