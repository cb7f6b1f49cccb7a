import type { ResourcesArgs } from "@infra/k8s";

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

/**
 * The compute resources of the chart's containers (it sets none: values.schema.json `resources`,
 * `webhook.resources`, `cainjector.resources`, `startupapicheck.resources` default to `{}`; its
 * examples request 10m and 32Mi). Memory is capped everywhere; CPU only on the startupapicheck Job,
 * which only waits for the webhook: the controller's renewals and the webhook's answers to the API
 * server should not queue behind a throttle. The controller and cainjector cache what they watch
 * (Certificates and their Secrets; the webhooks and CRDs they inject a CA into), so they get the
 * larger ceilings.
 */
export const certManagerResources = {
  controller: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  webhook: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
  cainjector: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  startupapicheck: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi", cpu: "100m" } },
} as const satisfies Record<string, ResourcesArgs>;

/**
 * Chart values: CRDs with the release, Gateway API support, DNS-01 through fixed resolvers, and
 * resources on every container. The chart's pod and container security contexts (non-root, seccomp
 * RuntimeDefault, no privilege escalation, every capability dropped, read-only root) already satisfy
 * Pod Security `restricted`, so they are left as the chart sets them.
 */
export function certManagerValues(nameservers: string[]): Record<string, unknown> {
  return {
    // `keep` leaves the CRDs (and so every Certificate) in place when the release is uninstalled.
    crds: { enabled: true, keep: true },
    // Certificates for Gateway listeners; the gateway-api layer installs the CRDs this watches.
    config: { enableGatewayAPI: true },
    dns01RecursiveNameservers: nameservers.join(","),
    dns01RecursiveNameserversOnly: true,
    webhook: { securePort: webhookPort, resources: certManagerResources.webhook },
    resources: certManagerResources.controller,
    cainjector: { resources: certManagerResources.cainjector },
    startupapicheck: { resources: certManagerResources.startupapicheck },
  };
}
