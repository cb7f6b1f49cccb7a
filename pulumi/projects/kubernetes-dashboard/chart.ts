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

/** Chart values: Kong on plain HTTP behind the gateway, and the server's name in the title. */
export function dashboardValues(clusterName: string): Record<string, unknown> {
  return {
    app: { settings: { global: { clusterName } } },
    kong: {
      proxy: {
        http: { enabled: true, servicePort: proxy.port, containerPort: proxy.port },
        tls: { enabled: false },
      },
    },
  };
}
