import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createPolicy } from "@infra/cilium";
import { domainName, images, readConfig } from "@infra/core";
import {
  createConfigMap,
  createCronJob,
  createNamespace,
  createPersistentVolumeClaim,
  createSecret,
  createWorkloadService,
  getExistingNamespace,
  identityLabel,
  selectorLabels,
} from "@infra/k8s";
import { traefikEntryPoints } from "@infra/traefik";
import {
  exposeInternalHttpService,
  getKubernetesProvider,
  type RecordedExposure,
  recordedPrivateNames,
  requireStackOutput,
  resolveHostname,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { stringify } from "yaml";
import { z } from "zod";
import { projectsOfStack, stackExposures, stackPrivateNames } from "./src/exposures";
import {
  type AlertTarget,
  alertValues,
  alertVariables,
  dataDir,
  diskCheck,
  diskTokenVariable,
  endpointKey,
  gatusConfig,
  gatusPort,
} from "./src/gatus";

const provider = getKubernetesProvider();
// The backups' target (`backup:notify` of the shared project): its kind and hosts in plain text,
// its URL a secret of its own.
const notify = requireStackOutput<{ notify?: { kind: AlertTarget["kind"]; hosts: string[] } }>(
  "shared",
  "backup",
).apply((backup) => backup.notify);
const notifyUrl = requireStackOutput<{ url?: string }>("shared", "backupNotify").apply((urls) => urls.url);
/** The least free space of the volumes' filesystem, in percent, before the disk check fails. */
const minFreePercent = readConfig("diskMinFreePercent", z.number().int().min(1).max(99).default(10));
// A tool of this server: its name carries the server's.
const hostname = resolveHostname({
  label: "status",
  scope: "server",
  gateway: "private",
  configured: readConfig("hostname", domainName.optional()),
});

const monitoringNamespace = createNamespace({ name: "monitoring", provider });
const gatus = "gatus";
const diskJob = "disk-check";

// Every hostname the stack's projects expose, and the status page's own.
const projects = projectsOfStack(join(__dirname, ".."), pulumi.getProject());
const exposures = pulumi
  .all([stackExposures(projects), hostname])
  .apply(([others, own]): RecordedExposure[] => [
    ...others,
    { name: gatus, namespace: "monitoring", hostname: own, gateway: "private" },
  ]);

const diskToken = new random.RandomPassword("disk-check-token", { length: 40, special: false });
const alertSecrets = pulumi
  .all([notify, notifyUrl])
  .apply(([target, url]) => pulumi.secret(alertValues(target?.kind, url)));
const secret = createSecret({
  name: `${gatus}-secrets`,
  namespace: monitoringNamespace,
  stringData: {
    "disk-check-token": diskToken.result,
    ...Object.fromEntries(alertVariables.map((name) => [name, alertSecrets.apply((values) => values[name])])),
  },
});
const secretRef = (key: string) => ({ valueFrom: { secretKeyRef: { name: secret.metadata.name, key } } });

const config = createConfigMap({
  name: `${gatus}-config`,
  namespace: monitoringNamespace,
  data: {
    "config.yaml": pulumi.all([exposures, notify]).apply(([list, target]) =>
      stringify(
        gatusConfig({
          exposures: list,
          // A healthchecks target gets the monitor's own check, named after the server.
          alerts: target ? { kind: target.kind, check: `monitor-${pulumi.getStack()}` } : undefined,
        }),
        { aliasDuplicateObjects: false },
      ),
    ),
  },
});

// History only (uptime, past results): the checks come from the config, so it is not backed up.
const data = createPersistentVolumeClaim({
  name: `${gatus}-data`,
  namespace: monitoringNamespace,
  size: "256Mi",
});

// Gatus's image (a static binary on an empty image) has no user: it runs as nobody.
const nobody = { runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, runAsNonRoot: true };
const monitor = createWorkloadService({
  name: gatus,
  namespace: monitoringNamespace,
  port: gatusPort,
  container: {
    image: images.gatus,
    env: {
      GATUS_CONFIG_PATH: "/config/config.yaml",
      [diskTokenVariable]: secretRef("disk-check-token"),
      // The alert target's URL, split as its provider reads it (empty without a target).
      ...Object.fromEntries(alertVariables.map((name) => [name, secretRef(name)])),
    },
    volumeMounts: [
      { volume: config, mountPath: "/config" },
      { volume: data, mountPath: dataDir },
    ],
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
    securityContext: { readOnlyRootFilesystem: true },
    readinessProbe: { httpGet: { path: "/health", port: gatusPort }, periodSeconds: 10 },
    livenessProbe: { httpGet: { path: "/health", port: gatusPort }, periodSeconds: 30, failureThreshold: 5 },
  },
  podSecurity: nobody,
});

// The status page: the tailnet only, through the internal gateway.
exposeInternalHttpService({ name: gatus, namespace: monitoringNamespace, service: monitor, hostname });

// The node's check: a tiny volume of the default storage class (k3s: local-path, a directory of
// /var/lib/rancher/k3s/storage) lies on the filesystem that holds every volume, so `df` on it
// measures their free space, without a hostPath.
const probe = createPersistentVolumeClaim({
  name: "disk-probe",
  namespace: monitoringNamespace,
  size: "1Mi",
});
const script = createConfigMap({
  name: `${diskJob}-script`,
  namespace: monitoringNamespace,
  data: { "disk-check.sh": readFileSync(join(__dirname, "scripts", "disk-check.sh"), "utf8") },
});
createCronJob({
  name: diskJob,
  namespace: monitoringNamespace,
  // Every 10 minutes: the endpoint's heartbeat alerts after 30 without a push.
  schedule: "*/10 * * * *",
  backoffLimit: 1,
  activeDeadlineSeconds: 120,
  ttlSecondsAfterFinished: 3600,
  container: {
    image: images.curlBase,
    command: ["/bin/bash", "/opt/disk-check/disk-check.sh"],
    env: {
      DISK_PATH: "/probe",
      DISK_MIN_FREE_PERCENT: String(minFreePercent),
      GATUS_URL: pulumi.interpolate`http://${monitor.service.metadata.name}.monitoring.svc.cluster.local:${gatusPort}`,
      GATUS_ENDPOINT_KEY: endpointKey(diskCheck.group, diskCheck.name),
      GATUS_TOKEN_FILE: "/run/secrets/gatus/disk-check-token",
    },
    volumeMounts: [
      { volume: script, mountPath: "/opt/disk-check" },
      { volume: secret, mountPath: "/run/secrets/gatus" },
      { volume: probe, mountPath: "/probe", readOnly: true },
    ],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi", cpu: "200m" } },
    securityContext: { readOnlyRootFilesystem: true },
  },
  podSecurity: nobody,
});

// Policies: Gatus sends to the internal gateway's Traefik (private names), to Cloudflare (public
// names) and to the alert target, nothing else; it accepts the internal gateway (the status page,
// from exposeInternalHttpService) and the disk-check job.
const gateway = "internal-gateway";
const gatewayLabels = requireStackOutput<Record<string, string>>(gateway, "podLabels");
const traefik = { [identityLabel]: gatewayLabels.apply((labels) => labels[identityLabel] ?? "") };
const websecure = [{ port: traefikEntryPoints.websecure.port }];
const cloudflare = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "..", "nixos", "cloudflare-ip-ranges.json"), "utf8"),
) as { ipv4Cidrs: string[]; ipv6Cidrs: string[] };
createPolicy({
  name: `${gatus}-egress`,
  description:
    "Gatus requests every exposed hostname as a user does: private ones through the internal gateway, public ones through Cloudflare; and sends alerts to the stack's target.",
  namespace: monitoringNamespace,
  subject: { labels: selectorLabels(gatus) },
  egress: pulumi
    .all([notify, traefik[identityLabel], requireStackOutput<string>(gateway, "namespace")])
    .apply(([target, traefikName, gatewayNamespace]) => [
      {
        peers: [{ endpoints: { [identityLabel]: traefikName }, namespace: gatewayNamespace }],
        ports: websecure,
      },
      { peers: [{ cidrs: [...cloudflare.ipv4Cidrs, ...cloudflare.ipv6Cidrs] }], ports: [{ port: 443 }] },
      // The target URL's host (the first of its hosts; a heartbeat's serves the backup jobs only),
      // on 443, the only port `backup:notify` accepts.
      ...(target?.hosts[0] ? [{ peers: [{ fqdns: [target.hosts[0]] }], ports: [{ port: 443 }] }] : []),
    ]),
});
createPolicy({
  name: "traefik-from-monitoring",
  description: "The internal gateway's Traefik accepts Gatus, which checks the hostnames it serves.",
  namespace: getExistingNamespace(gateway, provider),
  subject: { labels: traefik },
  ingress: [{ peers: [{ endpoints: selectorLabels(gatus), namespace: "monitoring" }], ports: websecure }],
});
createPolicy({
  name: `${gatus}-from-${diskJob}`,
  description: "Gatus accepts the disk check's pushes.",
  namespace: monitoringNamespace,
  subject: { labels: selectorLabels(gatus) },
  ingress: [{ peers: [{ endpoints: selectorLabels(diskJob) }], ports: [{ port: gatusPort }] }],
});
createPolicy({
  name: `${diskJob}-to-${gatus}`,
  description: "The disk check pushes its result to Gatus, and reaches nothing else.",
  namespace: monitoringNamespace,
  subject: { labels: selectorLabels(diskJob) },
  egress: [{ peers: [{ endpoints: selectorLabels(gatus) }], ports: [{ port: gatusPort }] }],
});

export const namespace = monitoringNamespace.metadata.name;
/** The status page, in the tailnet. */
export const url = pulumi.interpolate`https://${hostname}`;
/** The hostnames Gatus checks, each through the gateway a user goes through. */
export const checks = exposures.apply((list) =>
  [...new Set(list.map((exposure) => exposure.hostname))].sort(),
);
/** Where alerts go: the backups' target's kind (its URL is a secret of the shared project). */
export const alerting = notify.apply((target) => target?.kind ?? "none");
/**
 * Every private name this server holds, with its fixed address (the status page's own included):
 * what every server's private DNS, and Headscale's records, serve (`readSitePrivateNames`).
 */
export const serverPrivateNames = pulumi
  .all([stackPrivateNames(projects), recordedPrivateNames()])
  .apply(([names, own]) => [...names, ...own]);
