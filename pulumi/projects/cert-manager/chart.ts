/** The Helm release's name; the chart's pod labels carry it as `app.kubernetes.io/instance`. */
export const releaseName = "cert-manager";

/** The port the webhook serves the API server on (the chart's default, set so the policy agrees). */
export const webhookPort = 10250;

/** The labels the chart gives a component's pods. */
function componentLabels(name: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": releaseName,
    "app.kubernetes.io/component": component,
  };
}

/** The chart's pods, by component. */
export const components = {
  controller: componentLabels("cert-manager", "controller"),
  cainjector: componentLabels("cainjector", "cainjector"),
  webhook: componentLabels("webhook", "webhook"),
  /** The post-install hook that waits until the webhook answers; the release fails without it. */
  startupapicheck: componentLabels("startupapicheck", "startupapicheck"),
} as const;

/** Chart values: CRDs with the release, Gateway API support, and DNS-01 through fixed resolvers. */
export function certManagerValues(nameservers: string[]): Record<string, unknown> {
  return {
    // `keep` leaves the CRDs (and so every Certificate) in place when the release is uninstalled.
    crds: { enabled: true, keep: true },
    // Certificates for Gateway listeners; the gateway-api layer installs the CRDs this watches.
    config: { enableGatewayAPI: true },
    dns01RecursiveNameservers: nameservers.join(","),
    dns01RecursiveNameserversOnly: true,
    webhook: { securePort: webhookPort },
  };
}
