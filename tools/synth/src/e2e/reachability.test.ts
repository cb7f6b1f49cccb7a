import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import {
  addressInCidr,
  buildModel,
  checkReachability,
  describeFlow,
  type Endpoint,
  type Expectation,
  egressPaths,
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
import type { StackSynth } from "../synth";
import { exampleStacks } from "./example-stacks";

const repoRoot = join(__dirname, "..", "..", "..", "..");
const projectsDir = join(repoRoot, "pulumi", "projects");

// The pinned ranges the public gateway's policy admits (and the servers' firewalls).
const cloudflare = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "..", "..", "nixos", "cloudflare-ip-ranges.json"), "utf8"),
) as { ipv4Cidrs: string[]; ipv6Cidrs: string[] };
const cloudflareRanges = [...cloudflare.ipv4Cidrs, ...cloudflare.ipv6Cidrs];
/** An address inside a Cloudflare range, and one outside them all (TEST-NET-3). */
const insideCloudflare = (cloudflare.ipv4Cidrs[0] ?? "").replace(/\.0\/\d+$/, ".1");
const outsideCloudflare = "203.0.113.10";
const coredns = "kube-system/coredns";
const apiServerPort = 6443;

/** Pods a policy opens to pods of another namespace (a gateway's Traefik, the tailnet router), on these ports. */
interface Exposure {
  policy: string;
  backends: Endpoint[];
  /** The senders the policy admits. */
  gateway: Endpoint[];
  ports: { port: number; protocol: Protocol }[];
}

/** Who is who in the stack, found by labels, kinds and the project that made them. */
interface Roles {
  internalTraefik: Endpoint[];
  publicTraefik: Endpoint[];
  dashboard: Endpoint[];
  /** Exposures through a gateway's Traefik. */
  exposures: Exposure[];
  /** Ports the tailnet reaches by address, through the subnet router. */
  tailnetExposures: Exposure[];
  /** Pods of the projects written with the app kit (apps.test.ts checks their egress). */
  kitApps: Set<string>;
  /**
   * The namespaces of apps with buckets on the object store: their pods reach it as its users do,
   * through the internal gateway's Traefik (apps.test.ts checks which of them send there).
   */
  bucketApps: Set<string>;
  /** The namespace each project creates or puts objects in. */
  projectOf: (endpoint: Endpoint) => string | undefined;
}

/** What the stack's configuration and exports say a pod may reach outside what roles decide. */
interface StackFacts {
  /** The namespaces each gateway project's Traefik serves. */
  servedNamespaces: Record<string, string[]>;
  /** cert-manager's ACME directory host and the DNS-01 resolvers. */
  acmeHost: string;
  resolvers: { address: string; port: number }[];
  /** The backup storage hosts and ports (shared's `backup` export). */
  storage: { fqdns: string[]; fqdnPatterns: string[]; cidrs: string[]; ports: number[] };
  /** The hosts of the backup jobs' notification target (shared's `backup.notify`), reached on 443. */
  notifyHosts: string[];
  /** Each VPN relay's WireGuard endpoint, by workload. */
  relayEndpoints: Map<string, { address: string; port: number }>;
  /** The host and port the uptime monitor sends alerts to (`backup:notify`'s URL), if any. */
  alerts: { host: string; port: number } | undefined;
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

/** Policies that open pods to the given senders from another namespace: exposures, found by the pods' ingress. */
function exposuresTo(model: Model, senders: Endpoint[]): Exposure[] {
  // Services may live inside a Helm chart, out of the model's sight: exposures are found by the
  // pods a policy opens to the senders.
  return model.policies.flatMap((policy) => {
    const admits = (rule: (typeof policy.ingress)[number], endpoint: Endpoint) =>
      endpoint.namespace !== policy.namespace &&
      (rule.endpoints?.some((selector) => selectorMatches(selector, endpoint.labels)) ?? false);
    const rules = policy.ingress.filter((rule) => senders.some((endpoint) => admits(rule, endpoint)));
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
    const gateway = senders.filter((endpoint) => rules.some((rule) => admits(rule, endpoint)));
    return [{ policy: policy.id, backends, gateway, ports }];
  });
}

function rolesOf(model: Model, projects: ProjectObjects[], synth: StackSynth): Roles {
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
  // A kit app's own namespace: the one its project creates (its objects elsewhere are not its own).
  const appProjects = new Set(
    synth.projects
      .filter((project) => project.resources.some((resource) => resource.type === "homelab:apps:App"))
      .map((project) => project.project),
  );
  const created = (project: ProjectObjects) =>
    (project.manifests as Record<string, any>[])
      .filter((object) => object.kind === "Namespace")
      .map((object) => String(object.metadata.name));
  const kitNamespaces = new Set(
    projects.filter((project) => appProjects.has(project.project)).flatMap(created),
  );
  const owners = new Map(
    projects.flatMap((project) => created(project).map((name) => [name, project.project])),
  );
  const withBuckets = new Set(
    synth.projects
      .filter((project) =>
        ((project.outputs.backups?.value ?? []) as { buckets?: string[] }[]).some(
          (entry) => (entry.buckets ?? []).length > 0,
        ),
      )
      .map((project) => project.project),
  );
  return {
    internalTraefik: inProject(traefik, "internal-gateway"),
    publicTraefik: inProject(traefik, "public-gateway"),
    // Its own namespace's pods (its policy in the internal gateway's namespace selects Traefik).
    dashboard: pods(model).filter((endpoint) =>
      projects
        .filter((project) => project.project === "kubernetes-dashboard")
        .flatMap(created)
        .includes(endpoint.namespace ?? ""),
    ),
    exposures: exposuresTo(model, traefik),
    tailnetExposures: exposuresTo(
      model,
      model.endpoints.filter((endpoint) => endpoint.subnetRouter),
    ),
    kitApps: namesOf(
      pods(model).filter((pod) => pod.namespace !== undefined && kitNamespaces.has(pod.namespace)),
    ),
    bucketApps: new Set(projects.filter((project) => withBuckets.has(project.project)).flatMap(created)),
    projectOf: (endpoint) => (endpoint.namespace === undefined ? undefined : owners.get(endpoint.namespace)),
  };
}

/** The paths the platform means to open (each needs the sender's egress and the receiver's ingress). */
function intendedPaths(model: Model, roles: Roles): Expectation[] {
  const expectations: Expectation[] = [];
  const both = (from: string, to: string, port: number) =>
    (["UDP", "TCP"] as const).map((protocol) => ({ from, to, port, protocol, allowed: true }));
  for (const pod of pods(model)) expectations.push(...both(pod.name, coredns, 53));
  expectations.push(
    { from: coredns, to: "kube-apiserver", port: apiServerPort, allowed: true },
    ...both(coredns, "world", 53),
    ...both(coredns, "host", 53),
  );
  for (const { gateway, backends, ports } of roles.exposures) {
    for (const traefik of gateway) {
      for (const backend of backends) {
        for (const port of ports)
          expectations.push({ from: traefik.name, to: backend.name, ...port, allowed: true });
      }
      // And through each Service the model knows that selects only these pods, on its ports
      // that lead to the exposed ones.
      for (const service of model.services) {
        const selected = endpointsOf(model, `service:${service.name}`);
        if (selected.length === 0 || !selected.every((pod) => namesOf(backends).has(pod.name))) continue;
        const leadsToExposed = (targetPort: number | string, protocol: Protocol) =>
          selected.every((pod) => {
            const number =
              typeof targetPort === "number" || /^\d+$/.test(targetPort)
                ? Number(targetPort)
                : pod.ports.find((entry) => entry.name === targetPort && entry.protocol === protocol)?.port;
            return ports.some((entry) => entry.port === number && entry.protocol === protocol);
          });
        for (const { port, protocol } of service.ports.filter((entry) =>
          leadsToExposed(entry.targetPort, entry.protocol),
        )) {
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
  // The uptime monitor checks private hostnames through the internal gateway, as users do; its
  // disk check pushes to it.
  for (const gatus of pods(model).filter((pod) => roles.projectOf(pod) === "monitoring")) {
    const name = gatus.labels["k8s:app.kubernetes.io/name"];
    if (name === "gatus") {
      for (const traefik of roles.internalTraefik) {
        expectations.push({ from: gatus.name, to: traefik.name, port: websecure(traefik), allowed: true });
      }
    }
    if (name === "disk-check") {
      expectations.push({ from: gatus.name, to: `${gatus.namespace}/gatus`, port: 8080, allowed: true });
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
 * their gateway's Traefik pods (or the subnet router, for ports the tailnet reaches by address)
 * and the node.
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
  const source = endpointsOf(model, path.from);
  if (
    namesOf(roles.internalTraefik).has(path.to) &&
    source.length > 0 &&
    source.every((pod) => pod.namespace !== undefined && roles.bucketApps.has(pod.namespace)) &&
    roles.internalTraefik.some((traefik) => websecure(traefik) === path.port)
  ) {
    return true;
  }
  const gateways = [
    ...(namesOf(roles.dashboard).has(path.to) ? roles.internalTraefik : []),
    ...[...roles.exposures, ...roles.tailnetExposures]
      .filter(({ backends }) => namesOf(backends).has(path.to))
      .flatMap(({ gateway }) => gateway),
  ];
  return namesOf(gateways).has(path.from);
}

/**
 * Every difference between the model's policies and the intended ingress matrix, one message
 * per path: intended paths that are closed, and paths into guarded pods (from the world into
 * any pod; from anywhere into the dashboard's and exposed pods) that should not be open.
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

// Addresses that are not the public internet (RFC 6890): private networks, shared address space
// (the tailnet's), link-local (cloud metadata), loopback, and their IPv6 counterparts.
const nonPublic = [
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "fc00::/7",
  "fe80::/10",
];

/** A world endpoint (`world`, `world:<address>`, `world:<name>`) and, when it has one, its address. */
function worldAddress(to: string): { world: boolean; address?: string } {
  if (to === "world") return { world: true };
  if (!to.startsWith("world:")) return { world: false };
  const detail = to.slice("world:".length);
  return isIP(detail) === 0 ? { world: true } : { world: true, address: detail };
}

const isPublic = (to: string) => {
  const { world, address } = worldAddress(to);
  return world && (address === undefined || !nonPublic.some((cidr) => addressInCidr(address, cidr)));
};

/** A rule of the egress matrix: one destination and port a role is meant to reach. */
type Meant = (path: FlowResult) => boolean;

const on =
  (to: (name: string) => boolean, port: number | undefined, protocol: Protocol = "TCP"): Meant =>
  (path) =>
    to(path.to) && (port === undefined || path.port === port) && path.protocol === protocol;
const named =
  (...names: string[]) =>
  (name: string) =>
    names.includes(name);
// On k3s the API server is the node: Cilium gives both the same identity, so either name is it.
const node = named("host", "kube-apiserver");
const apiServer = on(node, apiServerPort);
const dns = [on(named(coredns), 53, "UDP"), on(named(coredns), 53, "TCP")];

/**
 * What Tailscale sends outside the cluster (the subnet router and the VPN relays): TCP 443 and
 * UDP 3478 to Tailscale's servers, which may sit at any public address, and WireGuard (UDP
 * 41641) to peers wherever they are. Never the node's network, the cluster or the metadata
 * service on the other ports.
 */
const tailscale: Meant[] = [
  (path) => isPublic(path.to) && path.port === 443 && path.protocol === "TCP",
  (path) => isPublic(path.to) && path.port === 3478 && path.protocol === "UDP",
  (path) => worldAddress(path.to).world && path.port === 41641 && path.protocol === "UDP",
];

/** What each platform pod is meant to send, by its own egress policies (DNS for every pod). */
function meantEgress(model: Model, roles: Roles, facts: StackFacts, pod: Endpoint): Meant[] {
  const label = (key: string) => pod.labels[`k8s:${key}`];
  const project = roles.projectOf(pod);
  const exposed = (exposures: Exposure[]) =>
    exposures
      .filter(({ gateway }) => namesOf(gateway).has(pod.name))
      .flatMap(({ backends, ports }) =>
        ports.map(({ port, protocol }) => on(named(...namesOf(backends)), port, protocol)),
      );
  // Cilium's health endpoint checks the node on whatever port it probes.
  if (pod.kind === "health") return [...dns, (path) => node(path.to)];
  const meant = [...dns];
  if (pod.namespace === "kube-system") {
    const app = label("k8s-app") ?? label("app");
    if (app === "kube-dns") {
      meant.push(
        apiServer,
        ...(["UDP", "TCP"] as const).flatMap((protocol) => [
          (path: FlowResult) => worldAddress(path.to).world && path.port === 53 && path.protocol === protocol,
          on(node, 53, protocol),
        ]),
      );
    }
    if (app === "metrics-server") meant.push(apiServer, on(node, 10250));
    if (app === "local-path-provisioner") meant.push(apiServer);
    if (app === "hubble-relay") meant.push(on(node, 4244));
  }
  if (project === "cert-manager") {
    meant.push(apiServer);
    if (label("app.kubernetes.io/component") === "controller") {
      meant.push(
        on(named(`world:${facts.acmeHost}`, "world:api.cloudflare.com"), 443),
        ...facts.resolvers.flatMap(({ address, port }) =>
          (["UDP", "TCP"] as const).map((protocol) => on(named(`world:${address}`), port, protocol)),
        ),
      );
    }
  }
  if (project === "internal-gateway" || project === "public-gateway") {
    if (label("app.kubernetes.io/name") === "traefik") {
      // The API server only while it serves a namespace; each exposure adds its backend.
      if ((facts.servedNamespaces[project] ?? []).length > 0) meant.push(apiServer);
      meant.push(...exposed(roles.exposures));
    }
    if (pod.subnetRouter) {
      meant.push(apiServer, ...tailscale, ...exposed(roles.tailnetExposures));
      for (const traefik of roles.internalTraefik) {
        meant.push(
          ...traefik.ports
            .filter((port) => ["web", "websecure"].includes(port.name ?? ""))
            .map((port) => on(named(traefik.name), port.port)),
        );
      }
    }
  }
  if (project === "vpn") {
    const endpoint = facts.relayEndpoints.get(pod.name);
    meant.push(
      apiServer,
      ...tailscale,
      ...(endpoint ? [on(named(`world:${endpoint.address}`), endpoint.port, "UDP")] : []),
    );
  }
  if (project === "monitoring") {
    // Gatus requests every exposed hostname as a user does: private ones through the internal
    // gateway's Traefik (its HTTPS port), public ones through Cloudflare; and sends its alerts.
    if (label("app.kubernetes.io/name") === "gatus") {
      meant.push(
        ...roles.internalTraefik.map((traefik) => on(named(traefik.name), websecure(traefik))),
        (path) => {
          const { address } = worldAddress(path.to);
          return (
            address !== undefined &&
            cloudflareRanges.some((cidr) => addressInCidr(address, cidr)) &&
            path.port === 443 &&
            path.protocol === "TCP"
          );
        },
        ...(facts.alerts ? [on(named(`world:${facts.alerts.host}`), facts.alerts.port)] : []),
      );
    }
    // The disk check pushes its result to Gatus, nothing else.
    if (label("app.kubernetes.io/name") === "disk-check") {
      meant.push(on(named(`${pod.namespace}/gatus`), 8080));
    }
  }
  if (project === "kubernetes-dashboard") {
    meant.push((path) => endpointsOf(model, path.to).every((target) => target.namespace === pod.namespace));
    // Kong only forwards; the dashboard's own pods call the API server.
    if (label("app.kubernetes.io/part-of") === "kubernetes-dashboard") meant.push(apiServer);
  }
  if (["postgresql", "mariadb", "mysql", "object-storage"].includes(project ?? "")) {
    const server = endpointsOf(model, `${pod.namespace}/${pod.namespace}`)[0];
    if (server && server.name !== pod.name) {
      meant.push(...server.ports.map((port) => on(named(server.name), port.port, port.protocol)));
    }
    if (label("backup.infra/app") !== undefined) {
      const { storage } = facts;
      const host = (to: string) => {
        const { world, address } = worldAddress(to);
        if (!world) return false;
        if (address !== undefined) return storage.cidrs.some((cidr) => addressInCidr(address, cidr));
        const name = to.slice("world:".length);
        return (
          storage.fqdns.includes(name) ||
          storage.fqdnPatterns.some((pattern) => name.endsWith(pattern.replace(/^\*/, "")))
        );
      };
      meant.push(...storage.ports.map((port) => on(host, port)));
      const notifyHost = (to: string) =>
        to.startsWith("world:") && facts.notifyHosts.includes(to.slice("world:".length));
      meant.push(on(notifyHost, 443));
    }
  }
  return meant;
}

/**
 * Every path a platform pod's own egress policies open that its role does not mean: a widened
 * egress shows here even where the receiver's ingress would still refuse it. The app kit's pods
 * are left to apps.test.ts, which checks them against what each app declares.
 */
function egressViolations(model: Model, roles: Roles, facts: StackFacts): string[] {
  const senders = model.endpoints.filter(
    (endpoint) =>
      (endpoint.kind === "pod" || endpoint.kind === "health") && !roles.kitApps.has(endpoint.name),
  );
  const messages: string[] = [];
  for (const sender of senders) {
    const meant = meantEgress(model, roles, facts, sender);
    for (const path of egressPaths(model, sender.name, undefined, { senderOnly: true })) {
      if (!meant.some((rule) => rule(path))) {
        messages.push(`${describeFlow(path)}: expected denied, got ${path.outcome} (${path.reason})`);
      }
    }
  }
  return messages;
}

function stackConfig(stack: string, project: string): Record<string, any> {
  const file = join(projectsDir, project, `Pulumi.${stack}.yaml`);
  return existsSync(file) ? (parse(readFileSync(file, "utf8"))?.config ?? {}) : {};
}

function alertsOf(target: { url?: string } | undefined): StackFacts["alerts"] {
  if (!target?.url) return undefined;
  const url = new URL(target.url);
  return { host: url.hostname, port: url.port === "" ? 443 : Number(url.port) };
}

function factsOf(synth: StackSynth): StackFacts {
  const outputs = (project: string) =>
    Object.fromEntries(
      Object.entries(synth.projects.find((candidate) => candidate.project === project)?.outputs ?? {}).map(
        ([key, output]) => [key, output.value],
      ),
    ) as Record<string, any>;
  const shared = outputs("shared");
  const nameservers: string[] = stackConfig(synth.stack, "cert-manager")[
    "cert-manager:recursiveNameservers"
  ] ?? ["1.1.1.1:53", "9.9.9.9:53"];
  const relays = (stackConfig(synth.stack, "vpn")["vpn:locations"] ?? []) as {
    name: string;
    endpoint: string;
  }[];
  const hostPort = (value: string) => {
    const colon = value.lastIndexOf(":");
    return { address: value.slice(0, colon), port: Number(value.slice(colon + 1)) };
  };
  return {
    servedNamespaces: Object.fromEntries(
      ["internal-gateway", "public-gateway"].map((project) => [
        project,
        outputs(project).servedNamespaces ?? [],
      ]),
    ),
    acmeHost: new URL(shared.acme.server).hostname,
    resolvers: nameservers.map(hostPort),
    storage: shared.backup.storage,
    notifyHosts: shared.backup.notify?.hosts ?? [],
    relayEndpoints: new Map(relays.map((relay) => [`vpn/relay-${relay.name}`, hostPort(relay.endpoint)])),
    // The backups' target, which the monitor alerts too.
    alerts: alertsOf(stackConfig(synth.stack, "shared")["backup:notify"]),
  };
}

let results: StackSynth[] = [];
before(async () => {
  const outDir = mkdtempSync(join(tmpdir(), "synth-reachability-"));
  try {
    const report = await synthAndValidate({
      projectsDir,
      stacks: [...exampleStacks],
      validate: false,
      outDir,
      workspaceRoots: [join(repoRoot, "pulumi")],
    });
    assert.deepEqual(report.problems, []);
    results = report.results;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

for (const stackName of exampleStacks) {
  describe(`reachability on ${stackName}`, () => {
    let synth: StackSynth;
    let projects: ProjectObjects[] = [];
    let model: Model;
    let roles: Roles;
    let facts: StackFacts;
    const modelWith = (edit: (manifests: Record<string, any>[]) => Record<string, unknown>[]) =>
      buildModel(edit(projects.flatMap((project) => project.manifests) as Record<string, any>[]), {
        releases: projects.flatMap((project) => project.releases),
      });
    const violationsOf = (edited: Model) => matrixViolations(edited, rolesOf(edited, projects, synth));
    const egressViolationsOf = (edited: Model) =>
      egressViolations(edited, rolesOf(edited, projects, synth), facts);
    /** The stack's manifests with one object replaced by an edited copy. */
    const replacing = (original: Record<string, any>, edit: (copy: Record<string, any>) => void) => {
      const copy = structuredClone(original);
      edit(copy);
      return modelWith((manifests) => manifests.map((object) => (object === original ? copy : object)));
    };

    before(() => {
      const found = results.find((result) => result.stack === stackName);
      assert.ok(found, `synth returned no ${stackName} stack`);
      synth = found;
      projects = stackObjects(synth);
      model = modelWith((manifests) => manifests);
      roles = rolesOf(model, projects, synth);
      facts = factsOf(synth);
    });

    it("opens exactly the intended paths into its pods", () => {
      assert.ok(model.policies.length > 0, "the stack has Cilium policies");
      assert.deepEqual(violationsOf(model), []);
    });

    it("lets every platform pod send only where its role means it to, by its own egress policies", () => {
      assert.deepEqual(egressViolationsOf(model), []);
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
          { from: coredns, to: "kube-apiserver", port: apiServerPort, allowed: true },
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
          { from: "kube-system/metrics-server", to: "kube-apiserver", port: apiServerPort, allowed: true },
          { from: "kube-system/hubble-relay", to: "host", port: 4244, allowed: true },
          {
            from: "kube-system/local-path-provisioner",
            to: "kube-apiserver",
            port: apiServerPort,
            allowed: true,
          },
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

    it("lets only their gateway's Traefik pods reach exposed pods from outside their namespace", () => {
      assert.ok(roles.exposures.length > 0, `${stackName} exposes its dashboard at least`);
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

    it("lets each Traefik send to exactly the pods and ports its exposures open, the API server and DNS, and never the node's other ports", () => {
      for (const traefik of [...roles.internalTraefik, ...roles.publicTraefik]) {
        const sent = egressPaths(model, traefik.name, undefined, { senderOnly: true });
        assert.deepEqual(
          sent.filter((path) => node(path.to) && path.port !== apiServerPort).map(describeFlow),
          [],
          traefik.name,
        );
        const backends = new Set(
          sent
            .filter((path) => !node(path.to) && path.to !== coredns)
            .map((path) => `${path.to}:${path.port}`),
        );
        const opened = new Set(
          roles.exposures
            .filter(({ gateway }) => namesOf(gateway).has(traefik.name))
            .flatMap(({ backends: pods, ports }) =>
              [...pods].flatMap((pod) => ports.map((port) => `${pod.name}:${port.port}`)),
            ),
        );
        assert.deepEqual([...backends].sort(), [...opened].sort(), traefik.name);
      }
    });

    it("lets nothing but the internal gateway reach the dashboard's pods from outside their namespace", () => {
      assert.ok(roles.dashboard.length > 0, `${stackName} runs the kubernetes-dashboard`);
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
            !(
              object.kind === "CiliumClusterwideNetworkPolicy" && object.metadata.name === "allow-dns-egress"
            ),
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

    it("reports the exact path that opens when an ingress policy is widened", () => {
      const policy = projects
        .flatMap((project) => project.manifests)
        .find((object) => object.kind === "CiliumNetworkPolicy") as Record<string, any> | undefined;
      assert.ok(policy, `${stackName} has an app policy to widen`);
      const opened = replacing(policy, (widened) => {
        widened.spec.ingress = [
          ...(widened.spec.ingress ?? []),
          { fromEntities: ["world"], toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }] },
        ];
      });
      const id = `CiliumNetworkPolicy ${policy.metadata.namespace}/${policy.metadata.name}`;
      const subject = opened.policies.find((candidate) => candidate.id === id)?.subject ?? {
        matchLabels: { none: "" },
      };
      const targets = pods(opened).filter((pod) => selectorMatches(subject, pod.labels));
      const [target] = targets;
      assert.ok(target, "the widened policy selects a pod");
      const rule = `${id} ingress[${(policy.spec.ingress ?? []).length}]`;
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

    it("reports the exact paths that open when a gateway's egress is widened to the whole cluster", () => {
      const policy = projects
        .find((project) => project.project === "internal-gateway")
        ?.manifests.find(
          (object: Record<string, any>) =>
            object.kind === "CiliumNetworkPolicy" && object.metadata.name === "traefik",
        ) as Record<string, any> | undefined;
      assert.ok(policy, "the internal gateway has its Traefik policy");
      // The rule this policy had before exposures opened each backend on its own.
      const opened = replacing(policy, (widened) => {
        widened.spec.egress = [...widened.spec.egress, { toEntities: ["cluster"] }];
      });
      const rule = `CiliumNetworkPolicy internal-gateway/traefik egress[${policy.spec.egress.length}]`;
      const messages = egressViolationsOf(opened);
      assert.ok(
        messages.includes(
          `internal-gateway/traefik → host:10250/TCP: expected denied, got allowed (egress: ${rule})`,
        ),
        messages.join("\n"),
      );
      assert.ok(
        messages.includes(
          `internal-gateway/traefik → ${coredns}:9153/TCP: expected denied, got allowed (egress: ${rule})`,
        ),
        messages.join("\n"),
      );
      // Nothing else: only the widened Traefik, only through the added rule.
      for (const message of messages) {
        assert.ok(
          message.startsWith("internal-gateway/traefik → ") && message.endsWith(`(egress: ${rule})`),
          message,
        );
      }
    });
  });
}
