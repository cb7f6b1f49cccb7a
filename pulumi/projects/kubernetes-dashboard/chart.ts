import type { ResourcesArgs } from "@infra/k8s";

/** The Helm release's name; the chart names its objects and labels its pods after it. */
export const releaseName = "kubernetes-dashboard";

/**
 * Kong, the chart's gateway in front of the dashboard's pods: the only way in. It serves plain
 * HTTP here (the internal gateway terminates TLS), on the same port for the Service and the
 * pods, so routes and policies name one port.
 */
export const proxy = {
  service: `${releaseName}-kong-proxy`,
  port: 8000,
  selector: {
    "app.kubernetes.io/name": "kong",
    "app.kubernetes.io/component": "app",
    "app.kubernetes.io/instance": releaseName,
  },
} as const;

/** The labels the chart gives the dashboard's own pods (api, auth, web, metrics-scraper). */
export const dashboardPodLabels = {
  "app.kubernetes.io/part-of": "kubernetes-dashboard",
  "app.kubernetes.io/instance": releaseName,
} as const;

/**
 * The compute resources of the chart's containers, smaller than its defaults (values.yaml gives each
 * dashboard container requests of 100m and 200Mi, limits of 250m and 400Mi; Kong's subchart none) for
 * a single small node. The dashboard is an occasional admin tool, so its CPU is capped too: a slow
 * page harms no one. Kong's `resources` also apply to its clear-stale-pid init container.
 */
export const dashboardResources = {
  api: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi", cpu: "250m" } },
  auth: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi", cpu: "250m" } },
  web: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi", cpu: "250m" } },
  metricsScraper: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi", cpu: "250m" } },
  kong: { requests: { cpu: "25m", memory: "128Mi" }, limits: { memory: "512Mi", cpu: "500m" } },
} as const satisfies Record<string, ResourcesArgs>;

/**
 * Chart values: Kong on plain HTTP behind the gateway, the server's name in the title, and
 * resources on every container. The chart's security contexts already satisfy Pod Security
 * `restricted` (the dashboard's pods: non-root, seccomp RuntimeDefault; its containers and Kong's:
 * a fixed non-root user, no privilege escalation, every capability dropped, read-only root), so
 * they are left as the charts set them.
 */
export function dashboardValues(clusterName: string): Record<string, unknown> {
  return {
    app: { settings: { global: { clusterName } } },
    api: { containers: { resources: dashboardResources.api } },
    auth: { containers: { resources: dashboardResources.auth } },
    web: { containers: { resources: dashboardResources.web } },
    metricsScraper: { containers: { resources: dashboardResources.metricsScraper } },
    kong: {
      proxy: {
        http: { enabled: true, servicePort: proxy.port, containerPort: proxy.port },
        tls: { enabled: false },
      },
      resources: dashboardResources.kong,
    },
  };
}
