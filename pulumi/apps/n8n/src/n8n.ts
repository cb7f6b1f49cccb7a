import { images } from "@infra/core";
import { type ContainerArgs, type EnvValue, emptyDir, secretKeyRef } from "@infra/k8s";
import { type AppConfig, type AppExposure, createApp, resolveHostname } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { N8nSettings } from "./config";
import { secrets } from "./secrets";

/** n8n's HTTP port: editor, REST API, webhooks and forms. */
const port = 5678;
/** The task broker n8n runs for its runners; it listens on the pod's loopback only (its default). */
const brokerPort = 5679;
/** The runners' launcher answers its health check here. */
const launcherHealthPort = 5680;
/** The image's user `node`. */
const user = 1000;
/** The distroless runners image's `nonroot` user. */
const runnerUser = 65532;

/**
 * What the public hostname routes: production webhooks and forms, and their waiting variants
 * (a Wait node's resume URL, the next page of a multi-page form), which n8n builds on the
 * webhook URL. Form pages need nothing else of n8n's: their styles and scripts are inline.
 */
const publicPaths = ["/webhook", "/webhook-waiting", "/form", "/form-waiting"];
/** Test webhooks and forms, live only while the editor listens for a test event. */
const testPaths = ["/webhook-test", "/form-test"];

/**
 * The public hostname: its own name, never the editor's, which lies in the private domain where a
 * public name may not (resolveHostname refuses it).
 */
function publicWebhookHostname(settings: N8nSettings): pulumi.Output<string> {
  return resolveHostname({
    label: "n8n-hooks",
    scope: "site",
    gateway: "public",
    configured: settings.publicWebhooks.hostname,
    configKey: "publicWebhooks.hostname",
  });
}

/**
 * n8n on the stack's PostgreSQL, its editor private to the tailnet at `n8n.<private domain>`: its
 * encryption key generated once for the app, Code nodes in a separate runners container that
 * holds none of n8n's secrets, `/home/node/.n8n` backed up with the database, production
 * webhooks and forms public on their own hostname only when configured, and no way out of the
 * cluster but the configured egress.
 */
export function createN8n(config: AppConfig<N8nSettings, never>) {
  const { settings } = config;
  const app = createApp({ name: "n8n", user: { user, group: user } });
  const database = app.database("postgresql");
  const data = app.volume({
    name: "data",
    storage: settings.storage,
  });
  const stable = app.stableSecrets(secrets);
  // Only the runners' launcher and n8n share it, inside one pod, and any server may issue its own.
  const runnersToken = new random.RandomPassword(
    "n8n-task-runners-auth-token",
    { length: 48, special: false },
    { parent: app.component },
  );
  const runnersSecret = app.secret({
    name: "n8n-task-runners",
    stringData: { authToken: runnersToken.result },
  });
  const runnersAuthToken = secretKeyRef(runnersSecret, "authToken");

  const editorHostname = resolveHostname({
    label: "n8n",
    scope: "site",
    gateway: "private",
    configured: settings.hostname,
  });
  const webhookHostname = settings.publicWebhooks.enabled ? publicWebhookHostname(settings) : undefined;
  const editorUrl = pulumi.interpolate`https://${editorHostname}/`;
  const webhookUrl = webhookHostname ? pulumi.interpolate`https://${webhookHostname}/` : editorUrl;

  const env: Record<string, EnvValue> = {
    // PostgreSQL: n8n 2 supports no other server database.
    DB_TYPE: "postgresdb",
    DB_POSTGRESDB_HOST: database.host,
    DB_POSTGRESDB_PORT: database.port,
    DB_POSTGRESDB_DATABASE: database.database,
    DB_POSTGRESDB_USER: database.username,
    DB_POSTGRESDB_PASSWORD: database.password,
    // Set, so n8n never generates one into /home/node/.n8n/config: the same key wherever it runs.
    N8N_ENCRYPTION_KEY: stable.ref("encryptionKey"),
    N8N_HOST: editorHostname,
    N8N_PORT: String(port),
    // The pod network is IPv4; n8n's default `::` fails where the node has IPv6 off.
    N8N_LISTEN_ADDRESS: "0.0.0.0",
    N8N_PROTOCOL: "https",
    N8N_EDITOR_BASE_URL: editorUrl,
    // Where n8n says webhooks, forms and resume URLs are: the public hostname when there is one.
    WEBHOOK_URL: webhookUrl,
    // Traefik forwards every request; public ones come through Cloudflare first, whose
    // X-Forwarded-For the public Traefik keeps.
    N8N_PROXY_HOPS: webhookHostname ? "2" : "1",
    GENERIC_TIMEZONE: settings.timezone,
    TZ: settings.timezone,
    // Files of executions go to the database, so its dump holds them with their executions.
    N8N_DEFAULT_BINARY_DATA_MODE: "database",
    // Code nodes run in the runners container; n8n's own process never runs workflow code.
    N8N_RUNNERS_MODE: "external",
    N8N_RUNNERS_AUTH_TOKEN: runnersAuthToken,
    // Nothing phones home (default-deny would drop it anyway): telemetry, version checks,
    // template library, personalization survey, announcement banners.
    N8N_DIAGNOSTICS_ENABLED: "false",
    N8N_VERSION_NOTIFICATIONS_ENABLED: "false",
    N8N_TEMPLATES_ENABLED: "false",
    N8N_PERSONALIZATION_ENABLED: "false",
    N8N_DYNAMIC_BANNERS_ENABLED: "false",
  };

  const runners: ContainerArgs = {
    name: "task-runners",
    image: images.n8nRunners,
    // Its own environment only: no database credentials, no encryption key, no volume.
    env: {
      N8N_RUNNERS_AUTH_TOKEN: runnersAuthToken,
      N8N_RUNNERS_TASK_BROKER_URI: `http://127.0.0.1:${brokerPort}`,
      GENERIC_TIMEZONE: settings.timezone,
    },
    // Code may write temporary files, and nothing else.
    volumeMounts: [{ volume: emptyDir("runners-tmp", { sizeLimit: "256Mi" }), mountPath: "/tmp" }],
    livenessProbe: { httpGet: { path: "/healthz", port: launcherHealthPort }, periodSeconds: 30 },
    securityContext: {
      runAsUser: runnerUser,
      runAsGroup: runnerUser,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    // A Code node that holds too much is killed here, not n8n.
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } },
  };

  const exposures: AppExposure[] = [{ gateway: "private", hostname: editorHostname }];
  if (webhookHostname) {
    exposures.push({
      name: "n8n-webhooks",
      gateway: "public",
      hostname: webhookHostname,
      paths: settings.publicWebhooks.testPaths ? [...publicPaths, ...testPaths] : publicPaths,
    });
  }

  const server = app.service({
    port,
    container: {
      image: images.n8n,
      env,
      volumeMounts: [{ volume: data, mountPath: "/home/node/.n8n" }],
      // /healthz answers once the server listens; /healthz/readiness once the database is
      // connected and migrated, so a database outage takes n8n out of the routes, not restarts it.
      readinessProbe: { httpGet: { path: "/healthz/readiness", port }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: "/healthz", port }, periodSeconds: 30, failureThreshold: 5 },
      // The first start and every upgrade run the database migrations.
      startupProbe: {
        httpGet: { path: "/healthz/readiness", port },
        periodSeconds: 5,
        failureThreshold: 120,
      },
      securityContext: { capabilities: { drop: ["ALL"] } },
      // n8n holds each execution's data in memory and does not bound it (docs.n8n.io, "Memory-related
      // errors"): the ceiling makes a runaway workflow restart n8n rather than starve the node.
      resources: { requests: { cpu: "50m", memory: "256Mi" }, limits: { memory: "1Gi" } },
    },
    sidecars: [runners],
    // The launcher lets a running Code node finish for up to 50 s after SIGTERM.
    terminationGracePeriodSeconds: 60,
    exposures,
    egress: settings.egress,
  });

  return {
    /** The editor, in the tailnet. */
    url: server.urls[0] as pulumi.Output<string>,
    /** Where n8n tells callers its webhooks are. */
    webhookUrl,
    backups: app.backups(),
  };
}
