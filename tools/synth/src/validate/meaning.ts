/** One rendered object with where it came from. */
export interface StackObject {
  project: string;
  object: Record<string, any>;
}

/** One Helm release of the stack: its chart, the namespace it installs into, and its values. */
export interface StackRelease {
  /** The project that installs it. */
  project: string;
  name: string;
  chart: string;
  namespace: string;
  values: Record<string, any>;
}

/** Where a documented fact about a chart's object was read. */
interface ChartSource {
  /** The chart version it was read at. */
  version: string;
  /** The template, in the chart or one of its subcharts, that renders the object. */
  template: string;
}

/**
 * A Service a chart creates. `ports` are its `spec.ports[].port` as the template renders them
 * from the release's values (with the chart's defaults); undocumented, any port passes.
 */
interface ProvidedService {
  kind: "Service";
  name: string;
  ports?: (values: Record<string, any>) => number[];
  source: ChartSource;
}

/** A Secret or ConfigMap a chart creates, and its keys; undocumented, any key passes. */
interface ProvidedData {
  kind: "Secret" | "ConfigMap";
  name: string;
  keys?: string[];
  source: ChartSource;
}

/**
 * Objects a Helm chart creates itself, by chart name, for the release name the project gives
 * it: documented here so references to them resolve and, where their ports or keys are
 * documented too, name ports and keys they have.
 */
export const helmProvidedObjects: Record<string, (ProvidedService | ProvidedData)[]> = {
  "kubernetes-dashboard": [
    {
      // Kong's proxy, the dashboard's only entrance and its route's backend (for the release name
      // `kubernetes-dashboard` the kubernetes-dashboard project uses).
      kind: "Service",
      name: "kubernetes-dashboard-kong-proxy",
      // A port for kong.proxy.http if enabled, one for kong.proxy.tls if enabled. Kong's values.yaml
      // puts them at 80 and 443, both enabled; the dashboard chart's values.yaml disables http.
      // Helm merges the release's values over those defaults key by key, as the spreads do.
      ports: (values) => {
        const http = { enabled: false, servicePort: 80, ...values.kong?.proxy?.http };
        const tls = { enabled: true, servicePort: 443, ...values.kong?.proxy?.tls };
        return [...(http.enabled ? [http.servicePort] : []), ...(tls.enabled ? [tls.servicePort] : [])];
      },
      source: { version: "7.13.0", template: "the kong subchart's templates/service-kong-proxy.yaml" },
    },
  ],
};

/**
 * What the stack knows an object holds: a Service's ports, a Secret's or ConfigMap's keys, and
 * for an object a chart creates, where that was documented.
 */
interface Contents {
  items: (number | string)[];
  documentedIn?: string;
}

/** Namespaces every k3s cluster has. */
const builtInNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];
/** Cluster roles every cluster has. */
const builtInClusterRoles = ["cluster-admin", "admin", "edit", "view"];

const workloadKinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

function key(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

function describe(object: Record<string, any>): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${object.metadata?.name}`;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([name, value]) => labels?.[name] === value);
}

/** The pod template of an object and the path to it, if it has one. */
function podTemplate(
  object: Record<string, any>,
): { path: string; template: Record<string, any> } | undefined {
  if (workloadKinds.includes(object.kind) || object.kind === "Job") {
    return object.spec?.template ? { path: "spec.template", template: object.spec.template } : undefined;
  }
  if (object.kind === "CronJob" && object.spec?.jobTemplate?.spec?.template) {
    return { path: "spec.jobTemplate.spec.template", template: object.spec.jobTemplate.spec.template };
  }
  return undefined;
}

/** A rendered object's ports or keys; synth redacts a Secret's values but keeps its keys. */
function renderedContents(object: Record<string, any>): (number | string)[] | undefined {
  const keys = (...maps: (Record<string, unknown> | undefined)[]) => [
    ...new Set(maps.flatMap((map) => Object.keys(map ?? {}))),
  ];
  if (object.kind === "Service") return (object.spec?.ports ?? []).map((port: { port: number }) => port.port);
  if (object.kind === "Secret") return keys(object.stringData, object.data);
  if (object.kind === "ConfigMap") return keys(object.data, object.binaryData);
  return undefined;
}

/**
 * The contents of every object the stack renders or a release's chart is documented to create
 * with its ports or keys, by key. Objects the stack only reads are absent: their contents are
 * not known.
 */
function knownContents(objects: StackObject[], releases: StackRelease[]): Map<string, Contents> {
  const contents = new Map<string, Contents>();
  for (const release of releases) {
    for (const provided of helmProvidedObjects[release.chart] ?? []) {
      const items = provided.kind === "Service" ? provided.ports?.(release.values) : provided.keys;
      if (!items) continue;
      const documentedIn = `chart ${release.chart} ${provided.source.version}, ${provided.source.template}`;
      contents.set(key(provided.kind, release.namespace, provided.name), { items, documentedIn });
    }
  }
  for (const { object } of objects) {
    const items = renderedContents(object);
    if (items) contents.set(key(object.kind, object.metadata?.namespace, object.metadata?.name), { items });
  }
  return contents;
}

/** Why naming `item` (a port or a key) of an object is wrong, if its contents are known to lack it. */
function lacking(contents: Contents | undefined, item: number | string): string | undefined {
  if (!contents || contents.items.includes(item)) return undefined;
  const named = typeof item === "number" ? `port ${item}` : `key "${item}"`;
  const items = [...contents.items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(", ");
  const source = contents.documentedIn ? `, per ${contents.documentedIn}` : "";
  return `has no ${named} (it has ${items || "none"}${source})`;
}

const secretReads = ["get", "list", "watch", "*"];

/**
 * Whether a ClusterRole's rule reads Secrets of every namespace: a core-group rule on `secrets`
 * with a read verb and no resourceNames. Kubernetes cannot restrict `list` and `watch` by name,
 * so a role that lists Secrets this way reads them all.
 */
function readsEverySecret(rule: Record<string, any>): boolean {
  const has = (list: unknown, ...values: string[]) =>
    Array.isArray(list) && list.some((entry) => values.includes(String(entry)));
  return (
    has(rule.apiGroups, "", "*") &&
    has(rule.resources, "secrets", "*") &&
    has(rule.verbs, ...secretReads) &&
    !(Array.isArray(rule.resourceNames) && rule.resourceNames.length > 0)
  );
}

/**
 * Charts whose own RBAC reads every Secret of the cluster unless their values turn it off, with
 * where that was read: the ClusterRole a release renders is out of synth's sight.
 */
export const chartsReadingEverySecret: Record<
  string,
  { readsEverySecret: (values: Record<string, any>) => boolean; source: ChartSource }
> = {
  traefik: {
    // The ClusterRole gets get/list/watch on secrets (for the Gateway provider too) unless the
    // chart's RBAC is off, or namespaced (Roles only, which the Gateway provider cannot use).
    readsEverySecret: (values) => values.rbac?.enabled !== false && values.rbac?.namespaced !== true,
    source: { version: "41.3.0", template: "templates/rbac/clusterrole.yaml" },
  },
};

/** One value of a chart that sets the resources of some of its containers. */
interface ChartResources {
  /** The value's path, such as `hubble.relay.resources`. */
  path: string;
  /** The containers it applies to. */
  containers: string;
  /** The chart's own default for it, which Helm merges under the release's value. */
  chartDefault?: Record<string, any>;
  /** Whether the release renders those containers at all; always when omitted. */
  rendered?: (values: Record<string, any>) => boolean;
}

/**
 * The values through which each chart sets the resources of the containers it renders (for the
 * release names and values our projects give it), with where that was read. A release's rendered
 * pods are out of synth's sight: it checks that each of these values has a memory limit, and fails
 * a release of a chart not documented here, whose containers' limits it could not check. It cannot
 * see containers a chart renders without taking their resources from its values, nor the charts'
 * security contexts (what each project's chart values say about Pod Security is asserted by its
 * tests instead).
 */
export const chartContainerResources: Record<string, { source: ChartSource; values: ChartResources[] }> = {
  cilium: {
    source: {
      version: "1.19.4",
      template: "templates/cilium-agent, cilium-operator, cilium-envoy, hubble-relay",
    },
    values: [
      { path: "resources", containers: "the agent" },
      {
        path: "initResources",
        containers:
          "the agent's init containers config, apply-sysctl-overwrites, mount-bpf-fs, clean-cilium-state",
      },
      { path: "cgroup.autoMount.resources", containers: "the agent's init container mount-cgroup" },
      { path: "cni.resources", containers: "the agent's init container install-cni-binaries" },
      { path: "operator.resources", containers: "the operator" },
      {
        path: "envoy.resources",
        containers: "the Envoy DaemonSet",
        rendered: (values) => values.envoy?.enabled !== false,
      },
      {
        path: "hubble.relay.resources",
        containers: "Hubble Relay",
        rendered: (values) => values.hubble?.relay?.enabled === true,
      },
    ],
  },
  "cert-manager": {
    source: {
      version: "v1.21.1",
      template: "templates/deployment.yaml, webhook-, cainjector-deployment.yaml, startupapicheck-job.yaml",
    },
    values: [
      { path: "resources", containers: "the controller" },
      { path: "webhook.resources", containers: "the webhook" },
      { path: "cainjector.resources", containers: "the cainjector" },
      {
        path: "startupapicheck.resources",
        containers: "the startupapicheck Job",
        rendered: (values) => values.startupapicheck?.enabled !== false,
      },
    ],
  },
  traefik: {
    source: { version: "41.3.0", template: "templates/_podtemplate.tpl" },
    values: [{ path: "resources", containers: "Traefik" }],
  },
  "kubernetes-dashboard": {
    source: { version: "7.13.0", template: "values.yaml and the kong subchart's templates/deployment.yaml" },
    values: [
      ...(["api", "auth", "web", "metricsScraper"] as const).map((component) => ({
        path: `${component}.containers.resources`,
        containers: `the dashboard's ${component} container`,
        // values.yaml gives each of them these.
        chartDefault: {
          requests: { cpu: "100m", memory: "200Mi" },
          limits: { cpu: "250m", memory: "400Mi" },
        },
        ...(component === "metricsScraper"
          ? { rendered: (values: Record<string, any>) => values.metricsScraper?.enabled !== false }
          : {}),
      })),
      { path: "kong.resources", containers: "Kong's proxy and its clear-stale-pid init container" },
    ],
  },
};

function valueAt(values: Record<string, any>, path: string): unknown {
  return path.split(".").reduce<any>((node, key) => node?.[key], values);
}

/** Helm's merge of a release's map value over the chart's default for it, key by key. */
function mergeValues(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isMap(base) || !isMap(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = mergeValues(base[key], value);
  return merged;
}

function isMap(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The problems of a release whose chart's containers would run without a memory limit. */
function checkChartResources(release: StackRelease): string[] {
  const where = `HelmRelease ${release.namespace}/${release.name}`;
  const chart = chartContainerResources[release.chart];
  if (!chart) {
    return [
      `${where}: chart ${release.chart}: the values that set its containers' resources are not documented ` +
        "(chartContainerResources in tools/synth/src/validate/meaning.ts), so their memory limits cannot be checked",
    ];
  }
  return chart.values
    .filter((value) => value.rendered?.(release.values) ?? true)
    .filter((value) => {
      const resources = mergeValues(value.chartDefault, valueAt(release.values, value.path));
      return !(isMap(resources) && isMap(resources.limits) && resources.limits.memory);
    })
    .map(
      (value) =>
        `${where}: values.${value.path}.limits.memory: not set, so ${value.containers} would run without a ` +
        `memory limit (chart ${release.chart} ${chart.source.version}, ${chart.source.template})`,
    );
}

/** The Pod Security levels, loosest first, and the label a namespace enforces one with. */
const podSecurityLevels = ["privileged", "baseline", "restricted"] as const;
type PodSecurityLevel = (typeof podSecurityLevels)[number];
const enforceLabel = "pod-security.kubernetes.io/enforce";

/**
 * The capabilities `baseline` lets a container add (the runtime's defaults), the sysctls it lets a
 * pod set, and the volume types `restricted` allows: Kubernetes' pod-security-admission policy
 * checks (staging/src/k8s.io/pod-security-admission/policy: check_capabilities_baseline.go,
 * check_sysctls.go up to 1.32, check_restrictedVolumes.go), as the Pod Security Standards list them.
 */
const baselineCapabilities = [
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
];
const safeSysctls = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
];
const restrictedVolumeTypes = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];

/**
 * What of a pod template violates the Pod Security level its namespace enforces, as far as the
 * template shows it: host namespaces, privileged containers, capabilities, host paths, host ports,
 * sysctls and seccomp (`baseline`); and volume types, privilege escalation, root, dropped
 * capabilities and a required seccomp profile (`restricted`). AppArmor, SELinux, /proc mount and
 * Windows options are not checked: no template of ours sets them.
 */
function podSecurityViolations(
  path: string,
  spec: Record<string, any>,
  level: PodSecurityLevel,
): { at: string; message: string }[] {
  if (level === "privileged") return [];
  const found: { at: string; message: string }[] = [];
  const violates = (at: string, what: string) =>
    found.push({ at, message: `${what}, which Pod Security "${level}" forbids` });
  const restricted = level === "restricted";
  const pod = spec.securityContext ?? {};
  const containers: [string, Record<string, any>][] = [
    "initContainers",
    "containers",
    "ephemeralContainers",
  ].flatMap((field) =>
    (spec[field] ?? []).map(
      (container: Record<string, any>, index: number): [string, Record<string, any>] => [
        `${path}.spec.${field}[${index}]`,
        container,
      ],
    ),
  );

  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (spec[field] === true) violates(`${path}.spec.${field}`, "shares a host namespace");
  }
  for (const sysctl of pod.sysctls ?? []) {
    if (!safeSysctls.includes(sysctl.name)) {
      violates(`${path}.spec.securityContext.sysctls[${sysctl.name}]`, "sets a sysctl outside the safe set");
    }
  }
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== "name") ?? "";
    const at = `${path}.spec.volumes[${volume.name}]`;
    if (type === "hostPath") violates(at, "mounts a host path");
    else if (restricted && !restrictedVolumeTypes.includes(type)) violates(at, `is a ${type} volume`);
  }
  const seccomp = (context: Record<string, any> | undefined) => context?.seccompProfile?.type;
  if (seccomp(pod) === "Unconfined")
    violates(`${path}.spec.securityContext.seccompProfile`, "runs unconfined");
  if (pod.runAsUser === 0 && restricted)
    violates(`${path}.spec.securityContext.runAsUser`, "runs as root (0)");

  for (const [at, container] of containers) {
    const context = container.securityContext ?? {};
    if (context.privileged === true) violates(`${at}.securityContext.privileged`, "is privileged");
    const allowed = restricted ? ["NET_BIND_SERVICE"] : baselineCapabilities;
    for (const capability of context.capabilities?.add ?? []) {
      if (!allowed.includes(capability))
        violates(`${at}.securityContext.capabilities.add`, `adds ${capability}`);
    }
    (container.ports ?? []).forEach((port: Record<string, any>, index: number) => {
      if (port.hostPort) violates(`${at}.ports[${index}].hostPort`, "opens a host port");
    });
    if (seccomp(context) === "Unconfined")
      violates(`${at}.securityContext.seccompProfile`, "runs unconfined");
    if (!restricted) continue;
    if (context.allowPrivilegeEscalation !== false) {
      violates(
        `${at}.securityContext.allowPrivilegeEscalation`,
        "may escalate privileges (not set to false)",
      );
    }
    if (!(context.capabilities?.drop ?? []).includes("ALL")) {
      violates(
        `${at}.securityContext.capabilities.drop`,
        "keeps the runtime's default capabilities (ALL not dropped)",
      );
    }
    const nonRoot = context.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) {
      violates(
        `${at}.securityContext.runAsNonRoot`,
        "may run as root (runAsNonRoot is not true here or for the pod)",
      );
    }
    if (context.runAsUser === 0) violates(`${at}.securityContext.runAsUser`, "runs as root (0)");
    if (!["RuntimeDefault", "Localhost"].includes(seccomp(context) ?? seccomp(pod))) {
      violates(
        `${at}.securityContext.seccompProfile`,
        "has no seccomp profile (RuntimeDefault or Localhost, here or for the pod)",
      );
    }
  }
  return found;
}

/**
 * The containers of a pod template that must run as non-root but name no user: the kubelet then
 * starts them only if their image's user is numeric and not root, which synth cannot see (and
 * which an image that runs as root, or as a named user, is not).
 */
function containersWithoutUser(path: string, spec: Record<string, any>): string[] {
  const pod = spec.securityContext ?? {};
  return ["initContainers", "containers"].flatMap((field) =>
    (spec[field] ?? []).flatMap((container: Record<string, any>, index: number) => {
      const context = container.securityContext ?? {};
      const nonRoot = (context.runAsNonRoot ?? pod.runAsNonRoot) === true;
      return nonRoot && (context.runAsUser ?? pod.runAsUser) === undefined
        ? [`${path}.spec.${field}[${index}].securityContext.runAsUser`]
        : [];
    }),
  );
}

/** The containers of a pod template without a memory limit. */
function containersWithoutMemoryLimit(path: string, spec: Record<string, any>): string[] {
  return ["initContainers", "containers"].flatMap((field) =>
    (spec[field] ?? []).flatMap((container: Record<string, any>, index: number) =>
      container.resources?.limits?.memory ? [] : [`${path}.spec.${field}[${index}].resources.limits.memory`],
    ),
  );
}

/** The equality labels of a label selector such as `a=b,c=d`; undefined for set-based ones. */
function equalityLabels(selector: unknown): Record<string, string> | undefined {
  if (typeof selector !== "string" || selector === "") return undefined;
  const labels: Record<string, string> = {};
  for (const term of selector.split(",")) {
    const match = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(term);
    if (!match) return undefined;
    labels[match[1] as string] = match[2] as string;
  }
  return labels;
}

/** The controller name Traefik's Gateway API provider claims GatewayClasses by. */
const traefikController = "traefik.io/gateway-controller";

/**
 * Traefik's Gateway API provider against the stack's Gateways: it must watch listed namespaces
 * only (none listed means every namespace, which needs every Secret of the cluster), every
 * namespace holding a Gateway of a class it claims, and nothing it has no access to (its
 * provider waits for every namespace it watches before serving any).
 */
function checkTraefikGateways(objects: StackObject[], releases: StackRelease[]) {
  const problems: { project: string; message: string }[] = [];
  const ofKind = (kind: string) => objects.filter(({ object }) => object.kind === kind);
  const classes = ofKind("GatewayClass").filter(
    ({ object }) => object.spec?.controllerName === traefikController,
  );
  const claimed = new Map<string, StackRelease>();
  for (const release of releases) {
    if (release.chart !== "traefik") continue;
    const provider = release.values.providers?.kubernetesGateway ?? {};
    if (provider.enabled !== true) continue;
    const where = `HelmRelease ${release.namespace}/${release.name}: providers.kubernetesGateway`;
    const namespaces: string[] = Array.isArray(provider.namespaces) ? provider.namespaces : [];
    if (namespaces.length === 0) {
      problems.push({
        project: release.project,
        message: `${where}.namespaces: lists no namespace, so Traefik watches every one, which needs every Secret of the cluster`,
      });
      continue;
    }
    const selector = equalityLabels(provider.labelSelector) ?? {};
    for (const { object } of classes) {
      if (matches(selector, object.metadata?.labels)) claimed.set(String(object.metadata?.name), release);
    }
    // The chart's account: serviceAccount.name, or its full name (the release's, with the chart's appended
    // unless it contains it).
    const account = String(
      release.values.serviceAccount?.name ||
        (release.name.includes("traefik") ? release.name : `${release.name}-traefik`),
    );
    for (const namespace of namespaces) {
      if (!ofKind("Namespace").some(({ object }) => object.metadata?.name === namespace)) continue;
      const granted = ofKind("RoleBinding").some(
        ({ object }) =>
          object.metadata?.namespace === namespace &&
          (object.subjects ?? []).some(
            (subject: Record<string, any>) =>
              subject.kind === "ServiceAccount" &&
              subject.name === account &&
              (subject.namespace ?? namespace) === release.namespace,
          ),
      );
      if (!granted) {
        problems.push({
          project: release.project,
          message:
            `${where}.namespaces: watches namespace "${namespace}", where no RoleBinding grants ServiceAccount ` +
            `"${release.namespace}/${account}" access: Traefik would wait for it and serve no Gateway at all`,
        });
      }
    }
  }
  for (const { project, object } of ofKind("Gateway")) {
    const gatewayClass = String(object.spec?.gatewayClassName);
    if (!classes.some(({ object: candidate }) => candidate.metadata?.name === gatewayClass)) continue;
    const release = claimed.get(gatewayClass);
    const namespace = object.metadata?.namespace;
    const watched: string[] = release?.values.providers?.kubernetesGateway?.namespaces ?? [];
    if (release && watched.includes(namespace)) continue;
    problems.push({
      project,
      message: release
        ? `${describe(object)}: spec.gatewayClassName: "${gatewayClass}" is served by HelmRelease ` +
          `${release.namespace}/${release.name}, which does not watch namespace "${namespace}" ` +
          "(providers.kubernetesGateway.namespaces): the Gateway would never be served"
        : `${describe(object)}: spec.gatewayClassName: no Traefik release of the stack claims GatewayClass ` +
          `"${gatewayClass}" with its Gateway API provider on: the Gateway would never be served`,
    });
  }
  return problems;
}

/**
 * Checks what schemas cannot: selectors select, mounts and references resolve (to ports and
 * keys their objects have), namespaces exist, no ClusterRole (rendered, or a chart's) reads every
 * Secret, each Traefik serves exactly the namespaces of its Gateways, every namespace the stack
 * creates enforces a Pod Security level and every pod template satisfies it, and every container
 * (rendered, or a documented chart's) has a memory limit. `existing` holds keys
 * (`Kind/namespace/name`) of objects the stack reads rather than creates; `releases` the Helm
 * releases, whose documented objects count as existing.
 */
export function checkMeaning(
  objects: StackObject[],
  existing: Set<string>,
  releases: StackRelease[],
): { project: string; message: string }[] {
  const problems: { project: string; message: string }[] = [];
  const known = new Set(existing);
  for (const { object } of objects)
    known.add(key(object.kind, object.metadata?.namespace, object.metadata?.name));
  for (const release of releases) {
    for (const provided of helmProvidedObjects[release.chart] ?? []) {
      known.add(key(provided.kind, release.namespace, provided.name));
    }
  }
  const contents = knownContents(objects, releases);
  const namespaceExists = (name: string) =>
    builtInNamespaces.includes(name) || known.has(key("Namespace", "", name));

  // The level each namespace the stack creates enforces; a namespace it only reads is unknown.
  const enforced = new Map<string, PodSecurityLevel>();
  for (const { object } of objects) {
    const level = object.kind === "Namespace" ? object.metadata?.labels?.[enforceLabel] : undefined;
    if (podSecurityLevels.includes(level)) enforced.set(object.metadata.name, level);
  }

  for (const release of releases) {
    for (const message of checkChartResources(release)) problems.push({ project: release.project, message });
    const chart = chartsReadingEverySecret[release.chart];
    if (chart?.readsEverySecret(release.values)) {
      problems.push({
        project: release.project,
        message:
          `HelmRelease ${release.namespace}/${release.name}: rbac: the chart's ClusterRole reads every Secret of the ` +
          `cluster (chart ${release.chart} ${chart.source.version}, ${chart.source.template}); turn its RBAC off ` +
          "and grant Roles where the release needs them",
      });
    }
  }
  problems.push(...checkTraefikGateways(objects, releases));

  for (const { project, object } of objects) {
    const report = (path: string, message: string) =>
      problems.push({ project, message: `${describe(object)}: ${path}: ${message}` });

    if (object.kind === "ClusterRole") {
      (object.rules ?? []).forEach((rule: Record<string, any>, index: number) => {
        if (readsEverySecret(rule)) {
          report(
            `rules[${index}]`,
            "reads every Secret of the cluster (secrets without resourceNames); grant a Role in the namespaces that need it",
          );
        }
      });
    }
    if (object.kind === "Namespace" && !enforced.has(object.metadata?.name)) {
      const level = object.metadata?.labels?.[enforceLabel];
      report(
        `metadata.labels["${enforceLabel}"]`,
        level === undefined
          ? `not set: give the namespace a Pod Security level (${podSecurityLevels.join(", ")})`
          : `"${level}" is not a Pod Security level (${podSecurityLevels.join(", ")})`,
      );
    }
    const namespace: string | undefined = object.metadata?.namespace;
    if (namespace && !namespaceExists(namespace)) {
      report("metadata.namespace", `namespace "${namespace}" is neither created nor read by this stack`);
    }
    const refExists = (kind: string, name: string) =>
      known.has(key(kind, namespace, name)) || (kind === "ServiceAccount" && name === "default");
    const refLacks = (kind: string, name: string, item: string) =>
      lacking(contents.get(key(kind, namespace, name)), item);

    if (workloadKinds.includes(object.kind)) {
      const selector = object.spec?.selector?.matchLabels ?? {};
      if (!matches(selector, object.spec?.template?.metadata?.labels)) {
        report("spec.selector.matchLabels", "does not match the pod template's labels");
      }
    }

    const pod = podTemplate(object);
    if (pod) {
      const spec = pod.template.spec ?? {};
      checkPod(pod.path, spec, report, refExists, refLacks);
      for (const at of containersWithoutMemoryLimit(pod.path, spec)) {
        report(at, "not set: the container could take the memory of the whole node");
      }
      for (const at of containersWithoutUser(pod.path, spec)) {
        report(
          at,
          "not set here or for the pod, under runAsNonRoot: the kubelet would start the container only if " +
            "its image's user were numeric and not root",
        );
      }
      const level = namespace ? enforced.get(namespace) : undefined;
      for (const violation of level ? podSecurityViolations(pod.path, spec, level) : []) {
        report(violation.at, `${violation.message} in namespace "${namespace}"`);
      }
    }

    if (object.kind === "HTTPRoute") {
      checkBackendRefs(
        object,
        report,
        (serviceNamespace, name) => known.has(key("Service", serviceNamespace, name)),
        (serviceNamespace, name, port) => lacking(contents.get(key("Service", serviceNamespace, name)), port),
      );
    }

    if (object.kind === "Service" && object.spec?.selector) {
      const selector: Record<string, string> = object.spec.selector;
      const selected = objects
        .map(({ object: candidate }) => ({ candidate, pod: podTemplate(candidate) }))
        .filter(
          ({ candidate, pod: candidatePod }) =>
            workloadKinds.includes(candidate.kind) &&
            candidate.metadata?.namespace === namespace &&
            candidatePod &&
            matches(selector, candidatePod.template.metadata?.labels),
        );
      if (selected.length === 0) {
        report("spec.selector", "selects no workload's pods in its namespace");
      } else {
        (object.spec.ports ?? []).forEach((port: Record<string, any>, index: number) => {
          if (typeof port.targetPort !== "string") return;
          const named = selected.some(({ pod: selectedPod }) =>
            [...(selectedPod?.template.spec?.containers ?? [])].some((container: Record<string, any>) =>
              (container.ports ?? []).some(
                (containerPort: Record<string, any>) => containerPort.name === port.targetPort,
              ),
            ),
          );
          if (!named)
            report(
              `spec.ports[${index}].targetPort`,
              `no selected container has a port named "${port.targetPort}"`,
            );
        });
      }
    }

    if (object.kind === "RoleBinding" || object.kind === "ClusterRoleBinding") {
      const roleRef = object.roleRef ?? {};
      const roleKnown =
        roleRef.kind === "ClusterRole"
          ? builtInClusterRoles.includes(roleRef.name) ||
            known.has(key("ClusterRole", undefined, roleRef.name))
          : known.has(key("Role", namespace, roleRef.name));
      if (!roleKnown) report("roleRef", `${roleRef.kind} "${roleRef.name}" does not exist`);
      (object.subjects ?? []).forEach((subject: Record<string, any>, index: number) => {
        if (subject.kind !== "ServiceAccount") return;
        const exists =
          subject.name === "default" ||
          known.has(key("ServiceAccount", subject.namespace ?? namespace, subject.name));
        if (!exists) {
          report(
            `subjects[${index}]`,
            `ServiceAccount "${subject.namespace}/${subject.name}" does not exist`,
          );
        }
      });
    }
  }
  return problems;
}

/**
 * A route's Service backends exist where it sends traffic (its namespace, or the backendRef's)
 * and serve the port it names: the API server accepts either mistake, and the gateway answers
 * the route's requests with errors.
 */
function checkBackendRefs(
  route: Record<string, any>,
  report: (path: string, message: string) => void,
  serviceExists: (namespace: string | undefined, name: string) => boolean,
  serviceLacks: (namespace: string | undefined, name: string, port: number) => string | undefined,
): void {
  (route.spec?.rules ?? []).forEach((rule: Record<string, any>, ruleIndex: number) => {
    (rule.backendRefs ?? []).forEach((backend: Record<string, any>, backendIndex: number) => {
      if ((backend.group ?? "") !== "" || (backend.kind ?? "Service") !== "Service") return;
      const at = `spec.rules[${ruleIndex}].backendRefs[${backendIndex}]`;
      const namespace = backend.namespace ?? route.metadata?.namespace;
      const service = `Service "${backend.namespace ? `${backend.namespace}/` : ""}${backend.name}"`;
      if (!serviceExists(namespace, backend.name)) {
        report(at, `names ${service}, which this stack does not create`);
      } else if (backend.port === undefined) {
        // Required for a Service by a CEL rule of the CRD, which schema validation does not run.
        report(at, `names ${service} without a port`);
      } else if (Number.isInteger(backend.port)) {
        // A port of another type is a schema problem, reported as such.
        const lack = serviceLacks(namespace, backend.name, backend.port);
        if (lack) report(at, `${service} ${lack}`);
      }
    });
  });
}

function checkPod(
  path: string,
  spec: Record<string, any>,
  report: (path: string, message: string) => void,
  refExists: (kind: string, name: string) => boolean,
  refLacks: (kind: string, name: string, key: string) => string | undefined,
): void {
  /** A reference to a Secret or ConfigMap of the pod's namespace and the keys it reads. */
  const checkData = (
    at: string,
    kind: "Secret" | "ConfigMap",
    reference: { name: string; optional?: boolean },
    keys: string[],
  ) => {
    // The kubelet starts the pod without an optional object or key.
    if (reference.optional) return;
    if (!refExists(kind, reference.name)) {
      report(at, `${kind} "${reference.name}" does not exist in the namespace`);
      return;
    }
    for (const dataKey of keys) {
      const lack = refLacks(kind, reference.name, dataKey);
      if (lack) report(at, `${kind} "${reference.name}" ${lack}`);
    }
  };
  const itemKeys = (source: { items?: { key: string }[] }) => (source.items ?? []).map((item) => item.key);
  const volumes = new Map<string, Record<string, any>>(
    (spec.volumes ?? []).map((volume: Record<string, any>) => [volume.name, volume]),
  );
  if (spec.serviceAccountName && !refExists("ServiceAccount", spec.serviceAccountName)) {
    report(
      `${path}.spec.serviceAccountName`,
      `ServiceAccount "${spec.serviceAccountName}" does not exist in the namespace`,
    );
  }
  for (const [name, volume] of volumes) {
    const at = `${path}.spec.volumes[${name}]`;
    if (volume.configMap) checkData(at, "ConfigMap", volume.configMap, itemKeys(volume.configMap));
    if (volume.secret) {
      const { secretName, optional } = volume.secret;
      checkData(at, "Secret", { name: secretName, optional }, itemKeys(volume.secret));
    }
    if (
      volume.persistentVolumeClaim &&
      !refExists("PersistentVolumeClaim", volume.persistentVolumeClaim.claimName)
    ) {
      report(
        at,
        `PersistentVolumeClaim "${volume.persistentVolumeClaim.claimName}" does not exist in the namespace`,
      );
    }
  }
  for (const field of ["initContainers", "containers"]) {
    (spec[field] ?? []).forEach((container: Record<string, any>, index: number) => {
      const at = `${path}.spec.${field}[${index}]`;
      (container.volumeMounts ?? []).forEach((mount: Record<string, any>, mountIndex: number) => {
        if (!volumes.has(mount.name)) {
          report(
            `${at}.volumeMounts[${mountIndex}].name`,
            `volume "${mount.name}" is not declared in the pod`,
          );
        }
      });
      (container.env ?? []).forEach((variable: Record<string, any>) => {
        const variableAt = `${at}.env[${variable.name}]`;
        const { secretKeyRef, configMapKeyRef } = variable.valueFrom ?? {};
        if (secretKeyRef) checkData(variableAt, "Secret", secretKeyRef, [secretKeyRef.key]);
        if (configMapKeyRef) checkData(variableAt, "ConfigMap", configMapKeyRef, [configMapKeyRef.key]);
      });
      // envFrom names no key: it imports whichever keys the object has.
      (container.envFrom ?? []).forEach((source: Record<string, any>, sourceIndex: number) => {
        const sourceAt = `${at}.envFrom[${sourceIndex}]`;
        if (source.secretRef) checkData(sourceAt, "Secret", source.secretRef, []);
        if (source.configMapRef) checkData(sourceAt, "ConfigMap", source.configMapRef, []);
      });
    });
  }
}
