import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  addressInCidr,
  buildModel,
  checkReachability,
  describeFlow,
  type Endpoint,
  type Expectation,
  type FlowResult,
  type Model,
  openPaths,
  type ProjectObjects,
  type Protocol,
  probeSources,
  resolveEndpoints,
  selectorMatches,
  stackObjects,
} from "../reachability";
import { synthAndValidate } from "../report";

const repoRoot = join(__dirname, "..", "..", "..", "..");
const stackName = "cloud-a";

// The ranges synth's Cloudflare invoke answers with, which the public gateway's policy admits.
const cloudflare = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "example-data", "cloudflare-ip-ranges.json"), "utf8"),
) as { ipv4Cidrs: string[]; ipv6Cidrs: string[] };
const cloudflareRanges = [...cloudflare.ipv4Cidrs, ...cloudflare.ipv6Cidrs];
/** An address inside a Cloudflare range, and one outside them all (TEST-NET-3). */
const insideCloudflare = (cloudflare.ipv4Cidrs[0] ?? "").replace(/\.0\/\d+$/, ".1");
const outsideCloudflare = "203.0.113.10";
const coredns = "kube-system/coredns";

/** Pods a policy opens to Traefik pods of another namespace, on these ports. */
interface Exposure {
  policy: string;
  backends: Endpoint[];
  gateway: Endpoint[];
  ports: { port: number; protocol: Protocol }[];
}

/** Who is who in the stack, found by labels, kinds and the project that made them. */
interface Roles {
  internalTraefik: Endpoint[];
  publicTraefik: Endpoint[];
  dashboard: Endpoint[];
  exposures: Exposure[];
}

const namesOf = (endpoints: Endpoint[]) => new Set(endpoints.map((endpoint) => endpoint.name));
const pods = (model: Model) => model.endpoints.filter((endpoint) => endpoint.kind === "pod");
const websecure = (traefik: Endpoint) =>
  traefik.ports.find((port) => port.name === "websecure")?.port ?? 8443;

function endpointsOf(model: Model, name: string): Endpoint[] {
  try {
    return resolveEndpoints(model, name);
  } catch {
    return [];
  }
}

function exposuresOf(model: Model, traefik: Endpoint[]): Exposure[] {
  // Services may live inside a Helm chart, out of the model's sight: exposures are found by the
  // pods a policy opens to Traefik.
  return model.policies.flatMap((policy) => {
    const admits = (rule: (typeof policy.ingress)[number], endpoint: Endpoint) =>
      endpoint.namespace !== policy.namespace &&
      (rule.endpoints?.some((selector) => selectorMatches(selector, endpoint.labels)) ?? false);
    const rules = policy.ingress.filter((rule) => traefik.some((endpoint) => admits(rule, endpoint)));
    if (rules.length === 0) return [];
    const backends = pods(model).filter((endpoint) => selectorMatches(policy.subject, endpoint.labels));
    const ports = rules.flatMap((rule) =>
      rule.ports
        ? rule.ports.flatMap((match) =>
            match.port === undefined
              ? []
              : [{ port: match.port, protocol: match.protocol === "UDP" ? "UDP" : "TCP" } as const],
          )
        : backends.flatMap((backend) => backend.ports.map(({ port, protocol }) => ({ port, protocol }))),
    );
    const gateway = traefik.filter((endpoint) => rules.some((rule) => admits(rule, endpoint)));
    return [{ policy: policy.id, backends, gateway, ports }];
  });
}

function rolesOf(model: Model, projects: ProjectObjects[]): Roles {
  const inProject = (endpoints: Endpoint[], project: string) => {
    const namespaces =
      projects.find((objects) => objects.project === project)?.namespaces ?? new Set<string>();
    return endpoints.filter(
      (endpoint) => endpoint.namespace !== undefined && namespaces.has(endpoint.namespace),
    );
  };
  const traefik = pods(model).filter(
    (endpoint) => endpoint.labels["k8s:app.kubernetes.io/name"] === "traefik",
  );
  return {
    internalTraefik: inProject(traefik, "internal-gateway"),
    publicTraefik: inProject(traefik, "public-gateway"),
    dashboard: inProject(pods(model), "kubernetes-dashboard"),
    exposures: exposuresOf(model, traefik),
  };
}

/** The paths the platform means to open (each needs the sender's egress and the receiver's ingress). */
function intendedPaths(model: Model, roles: Roles): Expectation[] {
  const expectations: Expectation[] = [];
  const both = (from: string, to: string, port: number) =>
    (["UDP", "TCP"] as const).map((protocol) => ({ from, to, port, protocol, allowed: true }));
  for (const pod of pods(model)) expectations.push(...both(pod.name, coredns, 53));
  expectations.push(
    { from: coredns, to: "kube-apiserver", port: 6443, allowed: true },
    ...both(coredns, "world", 53),
    ...both(coredns, "host", 53),
  );
  for (const { gateway, backends, ports } of roles.exposures) {
    for (const traefik of gateway) {
      for (const backend of backends) {
        for (const port of ports)
          expectations.push({ from: traefik.name, to: backend.name, ...port, allowed: true });
      }
      // And through each Service the model knows that selects only these pods, on its ports.
      for (const service of model.services) {
        const selected = endpointsOf(model, `service:${service.name}`);
        if (selected.length === 0 || !selected.every((pod) => namesOf(backends).has(pod.name))) continue;
        for (const { port, protocol } of service.ports) {
          expectations.push({
            from: traefik.name,
            to: `service:${service.name}`,
            port,
            protocol,
            allowed: true,
          });
        }
      }
    }
  }
  if (model.endpoints.some((endpoint) => endpoint.subnetRouter)) {
    for (const traefik of roles.internalTraefik) {
      expectations.push({ from: "tailnet", to: traefik.name, port: websecure(traefik), allowed: true });
    }
  }
  for (const traefik of roles.publicTraefik) {
    expectations.push(
      { from: `world:${insideCloudflare}`, to: traefik.name, port: websecure(traefik), allowed: true },
      { from: `world:${outsideCloudflare}`, to: traefik.name, port: websecure(traefik), allowed: false },
    );
  }
  return expectations;
}

// The node reaches every pod (the baseline's probe rule), and on k3s the API server is the node.
const isNode = (model: Model, name: string) =>
  endpointsOf(model, name).some((endpoint) => "reserved:host" in endpoint.labels);

const fromCloudflare = (source: string) => {
  const address = source.slice("world:".length);
  return isIP(address) !== 0 && cloudflareRanges.some((cidr) => addressInCidr(address, cidr));
};

/**
 * Whether an open path is meant to be open: the world gets only into the public gateway and
 * only from Cloudflare; the dashboard's pods and exposed pods only from their own namespace,
 * their gateway's Traefik pods and the node.
 */
function meantToBeOpen(model: Model, roles: Roles, path: FlowResult): boolean {
  if (path.from.startsWith("world"))
    return fromCloudflare(path.from) && namesOf(roles.publicTraefik).has(path.to);
  const [target] = endpointsOf(model, path.to);
  if (
    isNode(model, path.from) ||
    endpointsOf(model, path.from).every((source) => source.namespace === target?.namespace)
  ) {
    return true;
  }
  const gateways = [
    ...(namesOf(roles.dashboard).has(path.to) ? roles.internalTraefik : []),
    ...roles.exposures
      .filter(({ backends }) => namesOf(backends).has(path.to))
      .flatMap(({ gateway }) => gateway),
  ];
  return namesOf(gateways).has(path.from);
}

/**
 * Every difference between the model's policies and the intended matrix, one message per
 * path: intended paths that are closed, and paths into guarded pods (from the world into any
 * pod; from anywhere into the dashboard's and exposed pods) that should not be open.
 */
function matrixViolations(model: Model, roles: Roles): string[] {
  const messages = checkReachability(model, intendedPaths(model, roles));
  const guarded = namesOf([...roles.dashboard, ...roles.exposures.flatMap(({ backends }) => backends)]);
  const sources = probeSources(model);
  const world = [
    ...sources.filter((source) => source.startsWith("world")),
    `world:${insideCloudflare}`,
    `world:${outsideCloudflare}`,
  ];
  const targets = model.endpoints.filter((endpoint) => endpoint.kind === "pod" || endpoint.kind === "health");
  for (const target of targets) {
    for (const path of openPaths(
      model,
      target.name,
      guarded.has(target.name) ? [...sources, ...world] : world,
    )) {
      if (!meantToBeOpen(model, roles, path)) {
        messages.push(`${describeFlow(path)}: expected denied, got ${path.outcome} (${path.reason})`);
      }
    }
  }
  return [...new Set(messages)];
}

describe(`reachability on ${stackName}`, () => {
  let projects: ProjectObjects[] = [];
  let model: Model;
  let roles: Roles;
  const modelWith = (edit: (manifests: Record<string, any>[]) => Record<string, unknown>[]) =>
    buildModel(edit(projects.flatMap((project) => project.manifests) as Record<string, any>[]), {
      releases: projects.flatMap((project) => project.releases),
    });
  const violationsOf = (edited: Model) => matrixViolations(edited, rolesOf(edited, projects));

  before(async () => {
    const outDir = mkdtempSync(join(tmpdir(), "synth-reachability-"));
    try {
      const report = await synthAndValidate({
        projectsDir: join(repoRoot, "pulumi", "projects"),
        stacks: [stackName],
        validate: false,
        outDir,
        workspaceRoots: [join(repoRoot, "pulumi")],
      });
      assert.deepEqual(report.problems, []);
      const [stack] = report.results;
      assert.ok(stack, `synth returned no ${stackName} stack`);
      projects = stackObjects(stack);
      model = modelWith((manifests) => manifests);
      roles = rolesOf(model, projects);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("opens exactly the intended paths", () => {
    assert.ok(model.policies.length > 0, "the stack has Cilium policies");
    assert.deepEqual(violationsOf(model), []);
  });

  it("lets every pod resolve names through kube-dns on UDP and TCP 53", () => {
    const flows = pods(model).flatMap((pod) =>
      (["UDP", "TCP"] as const).map((protocol) => ({
        from: pod.name,
        to: coredns,
        port: 53,
        protocol,
        allowed: true,
      })),
    );
    assert.ok(pods(model).length > 3, "pods beyond k3s's own were found");
    assert.deepEqual(checkReachability(model, flows), []);
  });

  it("lets CoreDNS reach the API server and upstream DNS, and nothing else there", () => {
    assert.deepEqual(
      checkReachability(model, [
        { from: coredns, to: "kube-apiserver", port: 6443, allowed: true },
        { from: coredns, to: "world", port: 53, protocol: "UDP", allowed: true },
        { from: coredns, to: "world", port: 53, protocol: "TCP", allowed: true },
        { from: coredns, to: "kube-apiserver", port: 2379, allowed: false },
        { from: coredns, to: "world", port: 443, allowed: false },
      ]),
      [],
    );
  });

  it("keeps the baseline's system paths open: probes, health checks, metrics, Hubble, storage", () => {
    assert.deepEqual(
      checkReachability(model, [
        { from: "host", to: coredns, port: 8181, allowed: true },
        { from: "host", to: "health", port: 4240, allowed: true },
        { from: "health", to: "host", port: 4240, allowed: true },
        { from: "kube-apiserver", to: "kube-system/metrics-server", port: 10250, allowed: true },
        { from: "kube-system/metrics-server", to: "host", port: 10250, allowed: true },
        { from: "kube-system/metrics-server", to: "kube-apiserver", port: 6443, allowed: true },
        { from: "kube-system/hubble-relay", to: "host", port: 4244, allowed: true },
        { from: "kube-system/local-path-provisioner", to: "kube-apiserver", port: 6443, allowed: true },
        { from: "kube-system/local-path-provisioner", to: "world", port: 443, allowed: false },
      ]),
      [],
    );
  });

  it("lets the world reach nothing but the public gateway, and that only from Cloudflare's ranges", () => {
    const fromWorld = pods(model).flatMap((pod) =>
      openPaths(model, pod.name, ["world", `world:${insideCloudflare}`, `world:${outsideCloudflare}`]),
    );
    const publicGateway = namesOf(roles.publicTraefik);
    assert.deepEqual(
      fromWorld
        .filter((path) => !(fromCloudflare(path.from) && publicGateway.has(path.to)))
        .map(describeFlow),
      [],
    );
    assert.equal(
      fromWorld.length > 0,
      publicGateway.size > 0,
      "Cloudflare reaches the public gateway, if any",
    );
  });

  it("lets only their gateway's Traefik pods reach exposed pods from outside their namespace", (t) => {
    if (roles.exposures.length === 0) return t.skip(`${stackName} exposes nothing through a gateway yet`);
    const gatewayOf = (traefik: Endpoint) =>
      namesOf(roles.internalTraefik).has(traefik.name) ? "internal" : "public";
    for (const exposure of roles.exposures) {
      assert.equal(
        new Set(exposure.gateway.map(gatewayOf)).size,
        1,
        `${exposure.policy} admits one gateway's Traefik`,
      );
    }
    const exposed = [...namesOf(roles.exposures.flatMap(({ backends }) => backends))];
    assert.deepEqual(
      violationsOf(model).filter((message) => exposed.some((name) => message.includes(`→ ${name}:`))),
      [],
    );
  });

  it("lets nothing but the internal gateway reach the dashboard's pods from outside their namespace", (t) => {
    if (roles.dashboard.length === 0) return t.skip(`${stackName} has no kubernetes-dashboard yet`);
    const fromOutside = roles.dashboard.flatMap((pod) =>
      openPaths(model, pod.name).filter(
        (path) =>
          !isNode(model, path.from) &&
          !endpointsOf(model, path.from).some((e) => e.namespace === pod.namespace),
      ),
    );
    const internal = namesOf(roles.internalTraefik);
    assert.deepEqual(fromOutside.filter((path) => !internal.has(path.from)).map(describeFlow), []);
    assert.ok(fromOutside.length > 0, "the internal gateway reaches the dashboard");
  });

  it("reports the exact path that breaks when a policy is removed", () => {
    const withoutDns = modelWith((manifests) =>
      manifests.filter(
        (object) =>
          !(object.kind === "CiliumClusterwideNetworkPolicy" && object.metadata.name === "allow-dns-egress"),
      ),
    );
    const messages = violationsOf(withoutDns);
    assert.ok(
      messages.includes(
        "kube-system/metrics-server → kube-system/coredns:53/UDP: expected allowed, got denied " +
          "(no egress rule of a policy selecting kube-system/metrics-server allows it)",
      ),
      messages.join("\n"),
    );
    for (const message of messages) {
      assert.match(
        message,
        /^\S+ → kube-system\/coredns:53\/(UDP|TCP): expected allowed, got denied \(no egress rule/,
      );
    }
  });

  it("reports the exact path that opens when a policy is widened", () => {
    const policy = projects
      .flatMap((project) => project.manifests)
      .find((object) => object.kind === "CiliumNetworkPolicy") as Record<string, any> | undefined;
    assert.ok(policy, `${stackName} has an app policy to widen`);
    const widened = structuredClone(policy);
    widened.spec.ingress = [
      ...(widened.spec.ingress ?? []),
      { fromEntities: ["world"], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] },
    ];
    const opened = modelWith((manifests) =>
      manifests.map((object) => (object === policy ? widened : object)),
    );
    const id = `CiliumNetworkPolicy ${policy.metadata.namespace}/${policy.metadata.name}`;
    const subject = opened.policies.find((candidate) => candidate.id === id)?.subject ?? {
      matchLabels: { none: "" },
    };
    const targets = pods(opened).filter((pod) => selectorMatches(subject, pod.labels));
    const [target] = targets;
    assert.ok(target, "the widened policy selects a pod");
    const rule = `${id} ingress[${widened.spec.ingress.length - 1}]`;
    const messages = violationsOf(opened);
    assert.ok(
      messages.includes(
        `world → ${target.name}:8080/TCP: expected denied, got allowed (egress: world is not policed; ingress: ${rule})`,
      ),
      messages.join("\n"),
    );
    // Nothing else: only the world, only into the widened policy's pods, only on the opened port.
    for (const message of messages) {
      assert.ok(
        message.startsWith("world") &&
          targets.some((pod) => message.includes(` → ${pod.name}:8080/TCP: expected denied, got allowed`)),
        message,
      );
    }
  });
});
