import { charts, readConfig } from "@infra/core";
import { createHelmRelease, createNamespace } from "@infra/k8s";
import {
  exposeInternalHttpService,
  getKubernetesProvider,
  getSharedEnvironment,
  resolveHostname,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import { createDashboardAccess } from "./access";
import { dashboardValues, proxy, releaseName } from "./chart";
import { adminConfig, hostnameConfig } from "./config";
import { createDashboardPolicies } from "./policies";

const provider = getKubernetesProvider();
const { server } = getSharedEnvironment();
const admin = readConfig("admin", adminConfig);
const serverName = server.apply((facts) => facts.name);
// A tool of this server: its name carries the server's.
const hostname = resolveHostname({
  label: "dashboard",
  scope: "server",
  gateway: "private",
  configured: readConfig("hostname", hostnameConfig),
});

const dashboardNamespace = createNamespace({ name: "kubernetes-dashboard", provider });

createHelmRelease({
  name: releaseName,
  namespace: dashboardNamespace,
  chart: charts.kubernetesDashboard,
  values: serverName.apply(dashboardValues),
});

createDashboardPolicies(dashboardNamespace);

const loginAccount = createDashboardAccess({ namespace: dashboardNamespace, provider, admin });

exposeInternalHttpService({
  name: "kubernetes-dashboard",
  namespace: dashboardNamespace,
  service: { name: proxy.service, port: proxy.port, selector: { ...proxy.selector } },
  hostname,
});

export const namespace = dashboardNamespace.metadata.name;
export const url = pulumi.interpolate`https://${hostname}`;
/** Log in with a token of this account: `task dashboard:token STACK=<stack>`. */
export const serviceAccount = loginAccount.metadata.name;
export const access = admin ? "cluster-admin" : "read-only";
