import { allowWithinNamespace, apiServerPort, createPolicy } from "@infra/cilium";
import type * as k8s from "@pulumi/kubernetes";
import { dashboardPodLabels } from "./chart";

/**
 * The dashboard's own paths: its pods talk to each other (Kong to api, auth and web; api to the
 * metrics scraper), and all but Kong call the API server. Only the internal gateway reaches Kong
 * from outside the namespace (the exposure adds that policy).
 */
export function createDashboardPolicies(
  namespace: k8s.core.v1.Namespace,
): k8s.apiextensions.CustomResource[] {
  return [
    allowWithinNamespace(namespace),
    createPolicy({
      name: "dashboard-to-api-server",
      description: "The dashboard's api, auth, web and metrics scraper call the Kubernetes API server.",
      namespace,
      subject: { labels: dashboardPodLabels },
      egress: [{ peers: [{ entities: ["kube-apiserver"] }], ports: [{ port: apiServerPort }] }],
    }),
  ];
}
