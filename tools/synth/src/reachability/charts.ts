import type { ContainerPort } from "./ports";

/**
 * A pod that no synthesized manifest shows: k3s deploys it from its packaged manifests, or a
 * Helm chart renders it at install time (synth only records the release).
 */
export interface ExternalPod {
  namespace: string;
  /** The workload's name. */
  name: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  ports: ContainerPort[];
  /** Runs in the node's network namespace, so Cilium sees it as the node. */
  hostNetwork?: boolean;
  /** What creates it, for explanations. */
  origin: string;
}

/** A Helm release as synth records it (the inputs of a `kubernetes:helm.sh/v3:Release`). */
export interface HelmRelease {
  name: string;
  namespace: string;
  chart: string;
  values: Record<string, unknown>;
}

function valueAt(values: Record<string, unknown>, path: string): unknown {
  let current: unknown = values;
  for (const key of path.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function stringsAt(values: Record<string, unknown>, path: string): Record<string, string> {
  const found = valueAt(values, path);
  if (typeof found !== "object" || found === null) return {};
  return Object.fromEntries(Object.entries(found).map(([key, value]) => [key, String(value)]));
}

const tcp = (name: string, port: number): ContainerPort => ({ name, port, protocol: "TCP" });

/** The pods every k3s server runs from its packaged manifests (Traefik is disabled on ours). */
export function k3sSystemPods(): ExternalPod[] {
  const origin = "k3s packaged manifests";
  return [
    {
      namespace: "kube-system",
      name: "coredns",
      labels: { "k8s-app": "kube-dns" },
      serviceAccount: "coredns",
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
        tcp("metrics", 9153),
      ],
      origin,
    },
    {
      namespace: "kube-system",
      name: "metrics-server",
      labels: { "k8s-app": "metrics-server" },
      serviceAccount: "metrics-server",
      ports: [tcp("https", 10250)],
      origin,
    },
    {
      namespace: "kube-system",
      name: "local-path-provisioner",
      labels: { app: "local-path-provisioner" },
      serviceAccount: "local-path-provisioner-service-account",
      ports: [],
      origin,
    },
  ];
}

// The charts' pod templates at the versions pinned in @infra/core (labels a policy can select,
// and container ports). Pods on the host network (Cilium's agent, operator and Envoy) are the
// node as far as policies go, and are left out.
function ciliumPods(release: HelmRelease): ExternalPod[] {
  const origin = `Helm release ${release.namespace}/${release.name} (cilium)`;
  const hubble = valueAt(release.values, "hubble.enabled") !== false;
  const pods: ExternalPod[] = [];
  if (hubble && valueAt(release.values, "hubble.relay.enabled") === true) {
    pods.push({
      namespace: release.namespace,
      name: "hubble-relay",
      labels: {
        "k8s-app": "hubble-relay",
        "app.kubernetes.io/name": "hubble-relay",
        "app.kubernetes.io/part-of": "cilium",
      },
      serviceAccount: "hubble-relay",
      ports: [tcp("grpc", 4245)],
      origin,
    });
  }
  if (hubble && valueAt(release.values, "hubble.ui.enabled") === true) {
    pods.push({
      namespace: release.namespace,
      name: "hubble-ui",
      labels: {
        "k8s-app": "hubble-ui",
        "app.kubernetes.io/name": "hubble-ui",
        "app.kubernetes.io/part-of": "cilium",
      },
      serviceAccount: "hubble-ui",
      ports: [tcp("http", 8081)],
      origin,
    });
  }
  return pods;
}

// traefik/templates/_helpers.tpl: the selector labels are the chart name and
// `<release>-<namespace>`, each overridable; pods add commonLabels and deployment.podLabels. The
// pods run as serviceAccount.name, or as the full name (the release's name when it contains the
// chart's, `<release>-<chart>` otherwise).
function traefikPods(release: HelmRelease): ExternalPod[] {
  const { values } = release;
  const name = String(valueAt(values, "nameOverride") ?? "traefik");
  const namespace = String(valueAt(values, "namespaceOverride") ?? release.namespace);
  const instance = String(valueAt(values, "instanceLabelOverride") ?? `${release.name}-${namespace}`);
  const fullName = release.name.includes(name) ? release.name : `${release.name}-${name}`;
  const account = valueAt(values, "serviceAccount.name");
  const ports: Record<string, ContainerPort> = {
    traefik: tcp("traefik", 8080),
    metrics: tcp("metrics", 9100),
    web: tcp("web", 8000),
    websecure: tcp("websecure", 8443),
  };
  const configured = valueAt(values, "ports");
  for (const [portName, entry] of Object.entries(
    typeof configured === "object" && configured !== null ? configured : {},
  )) {
    const port = (entry as { port?: unknown; protocol?: unknown } | null)?.port;
    if (typeof port !== "number") continue;
    const protocol = (entry as { protocol?: unknown }).protocol;
    ports[portName] = { name: portName, port, protocol: protocol === "UDP" ? "UDP" : "TCP" };
  }
  return [
    {
      namespace,
      name: release.name,
      labels: {
        ...stringsAt(values, "commonLabels"),
        ...stringsAt(values, "deployment.podLabels"),
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/managed-by": "Helm",
      },
      serviceAccount: typeof account === "string" && account !== "" ? account : fullName,
      ports: Object.values(ports),
      hostNetwork: valueAt(values, "hostNetwork") === true,
      origin: `Helm release ${release.namespace}/${release.name} (traefik)`,
    },
  ];
}

// cert-manager/templates/{deployment,cainjector-deployment,webhook-deployment,startupapicheck-job}.yaml.
function certManagerPods(release: HelmRelease): ExternalPod[] {
  const { values } = release;
  const origin = `Helm release ${release.namespace}/${release.name} (cert-manager)`;
  const pod = (app: string, component: string, podLabelsAt: string, ports: ContainerPort[]): ExternalPod => ({
    namespace: release.namespace,
    name: component === "controller" ? release.name : `${release.name}-${app}`,
    labels: {
      ...stringsAt(values, podLabelsAt),
      app,
      "app.kubernetes.io/name": app,
      "app.kubernetes.io/instance": release.name,
      "app.kubernetes.io/component": component,
      "app.kubernetes.io/managed-by": "Helm",
    },
    serviceAccount: component === "controller" ? release.name : `${release.name}-${app}`,
    ports,
    origin,
  });
  const webhookPort = valueAt(values, "webhook.securePort");
  const pods = [
    pod(String(valueAt(values, "nameOverride") ?? "cert-manager"), "controller", "podLabels", [
      tcp("http-metrics", 9402),
      tcp("http-healthz", 9403),
    ]),
    pod("webhook", "webhook", "webhook.podLabels", [
      tcp("https", typeof webhookPort === "number" ? webhookPort : 10250),
      tcp("healthcheck", 6080),
      tcp("http-metrics", 9402),
    ]),
  ];
  if (valueAt(values, "cainjector.enabled") !== false) {
    pods.push(pod("cainjector", "cainjector", "cainjector.podLabels", [tcp("http-metrics", 9402)]));
  }
  if (valueAt(values, "startupapicheck.enabled") !== false) {
    pods.push(pod("startupapicheck", "startupapicheck", "startupapicheck.podLabels", []));
  }
  return pods;
}

// kubernetes-dashboard/templates/deployments/*.yaml: one Deployment per role, named
// `kubernetes-dashboard-<role>`, plus Kong (the bundled subchart) as the entry proxy.
function kubernetesDashboardPods(release: HelmRelease): ExternalPod[] {
  const { values } = release;
  const origin = `Helm release ${release.namespace}/${release.name} (kubernetes-dashboard)`;
  const chartName = String(valueAt(values, "nameOverride") ?? "kubernetes-dashboard");
  const common = {
    ...stringsAt(values, "app.labels"),
    "app.kubernetes.io/instance": release.name,
    "app.kubernetes.io/part-of": chartName,
    "app.kubernetes.io/managed-by": "Helm",
  };
  const pods: ExternalPod[] = ["api", "auth", "web", "metrics-scraper"].map((role) => ({
    namespace: release.namespace,
    name: `${chartName}-${role}`,
    labels: {
      ...common,
      ...stringsAt(values, `${role === "metrics-scraper" ? "metricsScraper" : role}.labels`),
      "app.kubernetes.io/name": `${chartName}-${role}`,
      "app.kubernetes.io/component": role,
    },
    serviceAccount: `${chartName}-${role}`,
    ports: [tcp(role, 8000)],
    origin,
  }));
  if (valueAt(values, "kong.enabled") !== false) {
    // The chart turns Kong's plain-HTTP proxy off and its TLS proxy on; values can swap them.
    const proxyPorts: ContainerPort[] = [];
    if (valueAt(values, "kong.proxy.http.enabled") === true) {
      proxyPorts.push(tcp("proxy", Number(valueAt(values, "kong.proxy.http.containerPort") ?? 8000)));
    }
    if (valueAt(values, "kong.proxy.tls.enabled") !== false) {
      proxyPorts.push(tcp("proxy-tls", Number(valueAt(values, "kong.proxy.tls.containerPort") ?? 8443)));
    }
    pods.push({
      namespace: release.namespace,
      name: `${release.name}-kong`,
      labels: {
        "app.kubernetes.io/name": "kong",
        "app.kubernetes.io/instance": release.name,
        "app.kubernetes.io/component": "app",
        "app.kubernetes.io/managed-by": "Helm",
      },
      ports: [...proxyPorts, tcp("status", 8100)],
      origin,
    });
  }
  return pods;
}

/**
 * The pods each chart the platform installs creates, by chart name. A release of a chart not
 * listed here makes the model refuse to answer: its pods would be invisible to every check.
 */
export const chartPods: Record<string, (release: HelmRelease) => ExternalPod[]> = {
  cilium: ciliumPods,
  traefik: traefikPods,
  "cert-manager": certManagerPods,
  "kubernetes-dashboard": kubernetesDashboardPods,
};
