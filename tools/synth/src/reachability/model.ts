import type { FqdnSelector } from "./addresses";
import { parseCidr } from "./addresses";
import { chartPods, type ExternalPod, type HelmRelease, k3sSystemPods } from "./charts";
import { type LabelSelector, type Labels, selectorKeys } from "./labels";
import type { ContainerPort, PortMatch, Protocol } from "./ports";

export type EndpointKind = "pod" | "host" | "kube-apiserver" | "health" | "world";

/** Something that sends or receives traffic: a workload's pods, the node, the world... */
export interface Endpoint {
  /** `<namespace>/<workload>` for pods; `host`, `kube-apiserver`, `health`, `world[:address|name]`. */
  name: string;
  kind: EndpointKind;
  /** Its Cilium labels (`k8s:` for pods, `reserved:` for Cilium's own identities). */
  labels: Labels;
  namespace?: string;
  /** Whether Cilium enforces policy on its traffic: pods and the health endpoint, not the node or the world. */
  enforced: boolean;
  ports: ContainerPort[];
  /** A Tailscale subnet router: traffic from the tailnet arrives from its pods. */
  subnetRouter: boolean;
  /** A world endpoint's address and DNS name. */
  address?: string;
  fqdn?: string;
  /** What creates it: `Deployment apps/web`, `Helm release ...`, `k3s packaged manifests`, `Cilium`. */
  origin: string;
}

/** One allow rule of a policy, read into what it matches. */
export interface PolicyRule {
  /** `<policy> ingress[i]`, naming the rule in explanations. */
  id: string;
  /** Endpoint selectors, as Cilium completes them (namespace defaulting applied). */
  endpoints?: LabelSelector[];
  entities?: string[];
  cidrs?: { cidr: string; except: string[] }[];
  fqdns?: FqdnSelector[];
  /** Undefined: every port. */
  ports?: PortMatch[];
  /** Names its L7 DNS rules let through Cilium's DNS proxy. */
  dns: FqdnSelector[];
}

export interface Policy {
  /** `CiliumNetworkPolicy <namespace>/<name>` or `CiliumClusterwideNetworkPolicy <name>`. */
  id: string;
  namespace?: string;
  /** The endpoints it applies to, as Cilium completes the selector. */
  subject: LabelSelector;
  ingress: PolicyRule[];
  egress: PolicyRule[];
}

export interface ServicePort {
  port: number;
  protocol: Protocol;
  targetPort: number | string;
}

/** A Service with a selector: traffic to it goes to the pods it selects. */
export interface Service {
  /** `<namespace>/<name>`. */
  name: string;
  namespace: string;
  selector: Record<string, string>;
  ports: ServicePort[];
}

export interface Model {
  /** Pods (one endpoint per workload) and the node, API server and health endpoint. */
  endpoints: Endpoint[];
  policies: Policy[];
  services: Service[];
  /** Whether the API server runs on the node and so shares its identity (k3s). */
  apiServerOnNode: boolean;
}

export interface ModelOptions {
  /** The stack's Helm releases: their charts' pods (see charts.ts) join the model. */
  releases?: HelmRelease[];
  /** Pods the cluster runs without a manifest; k3s's packaged ones by default. */
  systemPods?: ExternalPod[];
  /** The API server runs on the node (k3s), so Cilium gives it the node's identity; true by default. */
  apiServerOnNode?: boolean;
}

const namespaceKey = "k8s:io.kubernetes.pod.namespace";
const namespaceKeys = [namespaceKey, "any:io.kubernetes.pod.namespace", "io.kubernetes.pod.namespace"];
const policyKinds = ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"];

type Manifest = Record<string, any>;

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function podTemplate(object: Manifest): Manifest | undefined {
  switch (object.kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return object.spec?.template;
    case "CronJob":
      return object.spec?.jobTemplate?.spec?.template;
    case "Pod":
      return object;
    default:
      return undefined;
  }
}

function containerPorts(spec: Manifest): ContainerPort[] {
  return [...(spec.containers ?? []), ...(spec.initContainers ?? [])].flatMap((container: Manifest) =>
    (container.ports ?? []).map((port: Manifest) => ({
      ...(port.name ? { name: String(port.name) } : {}),
      port: Number(port.containerPort),
      protocol: (port.protocol ?? "TCP") as Protocol,
    })),
  );
}

// Tailscale's container advertises subnet routes from TS_ROUTES; tailnet traffic it forwards
// into the cluster leaves from the router's pod.
function routesSubnets(spec: Manifest): boolean {
  return (spec.containers ?? []).some((container: Manifest) =>
    (container.env ?? []).some((variable: Manifest) => variable.name === "TS_ROUTES" && variable.value),
  );
}

function hostLabels(apiServerOnNode: boolean): Labels {
  // On k3s the API server listens on the node's addresses: Cilium gives the node's identity the
  // kube-apiserver label too, so both entities select it.
  return { "reserved:host": "", ...(apiServerOnNode ? { "reserved:kube-apiserver": "" } : {}) };
}

interface PodDescription {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  ports: ContainerPort[];
  hostNetwork: boolean;
  subnetRouter: boolean;
  origin: string;
}

function podEndpoint(
  pod: PodDescription,
  namespaceLabels: Map<string, Labels>,
  apiServerOnNode: boolean,
): Endpoint {
  const base = {
    name: `${pod.namespace}/${pod.name}`,
    kind: "pod" as const,
    namespace: pod.namespace,
    ports: pod.ports,
    subnetRouter: pod.subnetRouter,
    origin: pod.origin,
  };
  // A pod on the node's network is the node as far as Cilium's policies go.
  if (pod.hostNetwork) return { ...base, labels: hostLabels(apiServerOnNode), enforced: false };
  const labels: Labels = {};
  for (const [key, value] of Object.entries(pod.labels)) labels[`k8s:${key}`] = value;
  for (const [key, value] of Object.entries(namespaceLabels.get(pod.namespace) ?? {})) {
    labels[`k8s:io.cilium.k8s.namespace.labels.${key}`] = value;
  }
  labels[`k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name`] = pod.namespace;
  labels[namespaceKey] = pod.namespace;
  labels["k8s:io.cilium.k8s.policy.serviceaccount"] = pod.serviceAccount ?? "default";
  labels["k8s:io.cilium.k8s.policy.cluster"] = "default";
  return { ...base, labels, enforced: true };
}

function manifestPods(manifests: Manifest[]): PodDescription[] {
  return manifests.flatMap((object) => {
    const template = podTemplate(object);
    if (!template) return [];
    const namespace = str(object.metadata?.namespace) ?? "default";
    const spec = template.spec ?? {};
    return [
      {
        namespace,
        name: String(object.metadata?.name),
        labels: template.metadata?.labels ?? {},
        ...(spec.serviceAccountName ? { serviceAccount: String(spec.serviceAccountName) } : {}),
        ports: containerPorts(spec),
        hostNetwork: spec.hostNetwork === true,
        subnetRouter: routesSubnets(spec),
        origin: `${object.kind} ${namespace}/${object.metadata?.name}`,
      },
    ];
  });
}

function externalPod(pod: ExternalPod): PodDescription {
  return { ...pod, hostNetwork: pod.hostNetwork === true, subnetRouter: false };
}

/**
 * An endpoint selector of a rule, completed as Cilium completes it: a selector that names a
 * reserved label stays as it is; one without the namespace label gets the policy's namespace
 * (a CiliumNetworkPolicy) or "any namespace", i.e. pods only (a cluster-wide policy).
 */
function peerSelector(selector: LabelSelector, policyNamespace: string | undefined): LabelSelector {
  const keys = selectorKeys(selector);
  if (keys.some((key) => key.startsWith("reserved:"))) return selector;
  if (keys.some((key) => namespaceKeys.includes(key))) return selector;
  if (policyNamespace !== undefined) {
    return { ...selector, matchLabels: { ...selector.matchLabels, [namespaceKey]: policyNamespace } };
  }
  return {
    ...selector,
    matchExpressions: [...(selector.matchExpressions ?? []), { key: namespaceKey, operator: "Exists" }],
  };
}

const ruleFields = {
  ingress: { endpoints: "fromEndpoints", entities: "fromEntities", cidr: "fromCIDR", cidrSet: "fromCIDRSet" },
  egress: { endpoints: "toEndpoints", entities: "toEntities", cidr: "toCIDR", cidrSet: "toCIDRSet" },
} as const;

interface ReadContext {
  id: string;
  namespace: string | undefined;
  cidrGroups: Map<string, string[]>;
  problems: string[];
}

function readPorts(raw: unknown, context: ReadContext): { ports?: PortMatch[]; dns: FqdnSelector[] } {
  const dns: FqdnSelector[] = [];
  if (!Array.isArray(raw) || raw.length === 0) return { dns };
  const ports: PortMatch[] = [];
  let everyPort = false;
  for (const portRule of raw as Manifest[]) {
    for (const key of Object.keys(portRule)) {
      if (key !== "ports" && key !== "rules")
        context.problems.push(`${context.id}: toPorts.${key} is not modelled`);
    }
    for (const key of Object.keys(portRule.rules ?? {})) {
      if (key === "dns") dns.push(...(portRule.rules.dns as FqdnSelector[]));
      else context.problems.push(`${context.id}: L7 rules.${key} are not modelled`);
    }
    if (!Array.isArray(portRule.ports) || portRule.ports.length === 0) everyPort = true;
    for (const entry of (portRule.ports ?? []) as Manifest[]) {
      const protocol = String(entry.protocol ?? "ANY");
      if (!["TCP", "UDP", "SCTP", "ANY"].includes(protocol)) {
        context.problems.push(`${context.id}: protocol ${protocol} is not modelled`);
        continue;
      }
      const port = String(entry.port ?? "0");
      const match: PortMatch = { protocol: protocol as PortMatch["protocol"] };
      if (/^\d+$/.test(port)) {
        if (Number(port) !== 0) match.port = Number(port);
        if (entry.endPort !== undefined) match.endPort = Number(entry.endPort);
      } else {
        match.name = port;
      }
      ports.push(match);
    }
  }
  return everyPort ? { dns } : { ports, dns };
}

function readCidrs(raw: Manifest, fields: (typeof ruleFields)["ingress" | "egress"], context: ReadContext) {
  const cidrs: { cidr: string; except: string[] }[] = [];
  for (const cidr of (raw[fields.cidr] ?? []) as string[]) cidrs.push({ cidr, except: [] });
  for (const entry of (raw[fields.cidrSet] ?? []) as Manifest[]) {
    if (entry.cidr !== undefined) {
      cidrs.push({ cidr: String(entry.cidr), except: (entry.except ?? []).map(String) });
    } else if (entry.cidrGroupRef !== undefined) {
      // A reference to a group that does not exist selects nothing, as in Cilium.
      for (const cidr of context.cidrGroups.get(String(entry.cidrGroupRef)) ?? [])
        cidrs.push({ cidr, except: [] });
    } else {
      context.problems.push(
        `${context.id}: ${fields.cidrSet} entries without cidr or cidrGroupRef are not modelled`,
      );
    }
  }
  for (const { cidr, except } of cidrs) {
    for (const range of [cidr, ...except]) {
      try {
        parseCidr(range);
      } catch (error) {
        context.problems.push(`${context.id}: ${(error as Error).message}`);
      }
    }
  }
  return cidrs;
}

function readRule(raw: Manifest, direction: "ingress" | "egress", context: ReadContext): PolicyRule {
  const fields = ruleFields[direction];
  const known: string[] = [
    ...Object.values(fields),
    "toPorts",
    ...(direction === "egress" ? ["toFQDNs"] : []),
  ];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) context.problems.push(`${context.id}: ${key} is not modelled`);
  }
  // Cilium rejects a rule that mixes kinds of peers (endpoints and entities, say).
  const l3 = [...Object.values(fields), "toFQDNs"].filter(
    (key) => Array.isArray(raw[key]) && raw[key].length > 0,
  );
  if (l3.length > 1)
    context.problems.push(`${context.id}: combines ${l3.join(" and ")}, which Cilium rejects`);
  const rule: PolicyRule = { id: context.id, ...readPorts(raw.toPorts, context) };
  const selectors = raw[fields.endpoints] as LabelSelector[] | undefined;
  if (selectors?.length)
    rule.endpoints = selectors.map((selector) => peerSelector(selector, context.namespace));
  const entities = raw[fields.entities] as string[] | undefined;
  if (entities?.length) rule.entities = entities;
  const cidrs = readCidrs(raw, fields, context);
  if (raw[fields.cidr]?.length || raw[fields.cidrSet]?.length) rule.cidrs = cidrs;
  if (direction === "egress" && raw.toFQDNs?.length) rule.fqdns = raw.toFQDNs as FqdnSelector[];
  return rule;
}

const specFields = [
  "description",
  "endpointSelector",
  "ingress",
  "egress",
  "enableDefaultDeny",
  "labels",
  "log",
];

function readPolicies(object: Manifest, cidrGroups: Map<string, string[]>, problems: string[]): Policy[] {
  const clusterwide = object.kind === "CiliumClusterwideNetworkPolicy";
  const namespace = clusterwide ? undefined : (str(object.metadata?.namespace) ?? "default");
  const base = `${object.kind} ${namespace ? `${namespace}/` : ""}${object.metadata?.name}`;
  const specs: Manifest[] = [...(object.spec ? [object.spec] : []), ...(object.specs ?? [])];
  return specs.map((spec, index) => {
    const id = specs.length > 1 ? `${base} specs[${index}]` : base;
    // enableDefaultDeny changes nothing under policyEnforcementMode "always"; log is audit only.
    for (const key of Object.keys(spec)) {
      if (!specFields.includes(key)) problems.push(`${id}: ${key} is not modelled`);
    }
    if (!spec.endpointSelector) problems.push(`${id}: a policy without endpointSelector is not modelled`);
    const selector: LabelSelector = spec.endpointSelector ?? {};
    // Cilium confines a namespaced policy's subject to its namespace, whatever it says.
    const subject = namespace
      ? { ...selector, matchLabels: { ...selector.matchLabels, [namespaceKey]: namespace } }
      : selector;
    const read = (direction: "ingress" | "egress") =>
      ((spec[direction] ?? []) as Manifest[]).map((rule, ruleIndex) =>
        readRule(rule, direction, {
          id: `${id} ${direction}[${ruleIndex}]`,
          namespace,
          cidrGroups,
          problems,
        }),
      );
    return {
      id,
      ...(namespace ? { namespace } : {}),
      subject,
      ingress: read("ingress"),
      egress: read("egress"),
    };
  });
}

function readServices(manifests: Manifest[]): Service[] {
  return manifests
    .filter((object) => object.kind === "Service" && object.spec?.selector)
    .map((object) => {
      const namespace = str(object.metadata?.namespace) ?? "default";
      return {
        name: `${namespace}/${object.metadata?.name}`,
        namespace,
        selector: object.spec.selector,
        ports: (object.spec.ports ?? []).map((port: Manifest) => ({
          port: Number(port.port),
          protocol: (port.protocol ?? "TCP") as Protocol,
          targetPort: port.targetPort ?? port.port,
        })),
      };
    });
}

/**
 * Reads a stack's synthesized objects into a reachability model: an endpoint per workload (its
 * pod template's labels in Cilium's form), k3s's and the Helm charts' pods, the node, the API
 * server and Cilium's health endpoint, every Cilium policy completed as Cilium completes it,
 * and the Services. Throws when a policy uses something the model does not understand, or a
 * release installs a chart whose pods it does not know: a check built on it could not be trusted.
 */
export function buildModel(manifests: Record<string, unknown>[], options: ModelOptions = {}): Model {
  const objects = manifests as Manifest[];
  const apiServerOnNode = options.apiServerOnNode ?? true;
  const problems: string[] = [];

  const namespaceLabels = new Map<string, Labels>();
  for (const object of objects) {
    if (object.kind === "Namespace")
      namespaceLabels.set(String(object.metadata?.name), object.metadata?.labels ?? {});
  }
  const external = [...(options.systemPods ?? k3sSystemPods())];
  for (const release of options.releases ?? []) {
    const pods = chartPods[release.chart];
    if (pods) external.push(...pods(release));
    else {
      problems.push(
        `Helm release ${release.namespace}/${release.name} installs chart "${release.chart}", whose pods ` +
          "the model does not know: describe them in reachability/charts.ts",
      );
    }
  }
  const endpoints: Endpoint[] = [];
  for (const pod of [...manifestPods(objects), ...external.map(externalPod)]) {
    const endpoint = podEndpoint(pod, namespaceLabels, apiServerOnNode);
    // Two workloads of one name in a namespace (a Deployment and a CronJob, say) stay apart.
    if (endpoints.some((existing) => existing.name === endpoint.name)) {
      endpoint.name = `${endpoint.name} (${endpoint.origin.split(" ")[0]})`;
    }
    endpoints.push(endpoint);
  }
  const synthetic = { ports: [], subnetRouter: false, origin: "Cilium" };
  endpoints.push(
    { ...synthetic, name: "host", kind: "host", labels: hostLabels(apiServerOnNode), enforced: false },
    {
      ...synthetic,
      name: "kube-apiserver",
      kind: "kube-apiserver",
      labels: apiServerOnNode ? hostLabels(true) : { "reserved:kube-apiserver": "" },
      enforced: false,
      ports: [{ name: "https", port: 6443, protocol: "TCP" }],
    },
    { ...synthetic, name: "health", kind: "health", labels: { "reserved:health": "" }, enforced: true },
  );

  const cidrGroups = new Map<string, string[]>();
  for (const object of objects) {
    if (object.kind === "CiliumCIDRGroup") {
      cidrGroups.set(String(object.metadata?.name), (object.spec?.externalCIDRs ?? []).map(String));
    }
  }
  const policies = objects
    .filter((object) => policyKinds.includes(String(object.kind)))
    .flatMap((object) => readPolicies(object, cidrGroups, problems));
  if (problems.length > 0) {
    throw new Error(
      `The reachability model cannot vouch for these:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return { endpoints, policies, services: readServices(objects), apiServerOnNode };
}
