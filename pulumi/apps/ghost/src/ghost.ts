import { ConfigError, images } from "@infra/core";
import { type EnvValue, secretKeyRef } from "@infra/k8s";
import {
  type AppConfig,
  type AppEgress,
  type AppExposure,
  createApp,
  resolveHostname,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import type { GhostSecretKey, GhostSettings } from "./config";

/** Ghost's HTTP port (the image's `server__port`). */
const port = 2368;
/** The image's `node` user (docker-library/ghost builds on node:*-alpine, whose `node` is 1000). */
const user = 1000;
/** Ghost serves its admin, and the admin's API, under this prefix. */
export const ghostAdminPath = "/ghost";

/**
 * Ghost on the stack's MySQL 8, public at `blog.<domain>` through Cloudflare: its content volume
 * backed up with its database, its admin (`/ghost/`) on the tailnet only unless configured, mail
 * only when configured (with its egress).
 */
export function createGhost(config: AppConfig<GhostSettings, GhostSecretKey>) {
  const { settings } = config;
  const app = createApp({ name: "ghost", user: { user, group: user } });
  // Ghost supports MySQL 8 only in production (MariaDB is not a substitute).
  const database = app.database("mysql");
  const content = app.volume({
    name: "content",
    storage: settings.storage,
    // Ghost writes its logs to stdout in containers; a logs/ directory holds nothing to keep.
    backup: { exclude: ["logs"] },
  });
  const hostname = resolveHostname({
    label: "blog",
    scope: "site",
    gateway: "public",
    configured: settings.hostname,
  });
  const privateAdmin = settings.admin.exposure === "private";
  const adminHostname = privateAdmin
    ? resolveHostname({
        label: "blog-admin",
        scope: "site",
        gateway: "private",
        configured: settings.admin.hostname,
        configKey: "admin.hostname",
      })
    : undefined;
  if (!privateAdmin && settings.admin.hostname !== undefined) {
    throw new ConfigError(
      `Stack "${pulumi.getStack()}": ghost:admin.hostname is set but ghost:admin.exposure is "public", ` +
        "where the admin stays on the blog's hostname: remove admin.hostname or make the admin private",
    );
  }

  // Ghost reads nested settings from variables joined by "__" (its nconf configuration).
  const env: Record<string, EnvValue> = {
    url: pulumi.interpolate`https://${hostname}`,
    ...(adminHostname ? { admin__url: pulumi.interpolate`https://${adminHostname}` } : {}),
    server__host: "0.0.0.0",
    server__port: String(port),
    database__client: "mysql",
    database__connection__host: database.host,
    database__connection__port: database.port,
    database__connection__user: database.username,
    database__connection__password: database.password,
    database__connection__database: database.database,
  };
  const egress: AppEgress[] = [];
  const { smtp } = settings;
  if (smtp) {
    Object.assign(env, {
      mail__transport: "SMTP",
      mail__from: smtp.from,
      mail__options__host: smtp.host,
      mail__options__port: String(smtp.port),
      mail__options__secure: String(smtp.secure),
      ...(smtp.username ? { mail__options__auth__user: smtp.username } : {}),
    });
    if (smtp.username) {
      const password = config.secrets.smtpPassword;
      if (!password) {
        throw new ConfigError(
          `Stack "${pulumi.getStack()}": ghost:smtp.username is set, so the secret "ghost:smtpPassword" must be ` +
            `set (pulumi config set --secret smtpPassword <value> --stack ${pulumi.getStack()})`,
        );
      }
      const credentials = app.secret({ name: "ghost-smtp", stringData: { password } });
      env.mail__options__auth__pass = secretKeyRef(credentials, "password");
    }
    egress.push({ hosts: [smtp.host], ports: [{ port: smtp.port }] });
  }

  // Ghost builds its redirects and canonical URLs from X-Forwarded-Proto, and redirects an
  // http request to `url` in a loop: the gateway ends TLS, so every request it passes on is https.
  const requestHeaders = { "X-Forwarded-Proto": "https" };
  const exposures: AppExposure[] = [
    {
      gateway: "public",
      hostname,
      requestHeaders,
      ...(adminHostname ? { withheld: { paths: [ghostAdminPath], redirectTo: adminHostname } } : {}),
    },
    ...(adminHostname
      ? [
          {
            gateway: "private" as const,
            name: "ghost-admin",
            hostname: adminHostname,
            paths: [ghostAdminPath],
            requestHeaders,
          },
        ]
      : []),
  ];

  const listening = { tcpSocket: { port } };
  const server = app.service({
    port,
    container: {
      image: images.ghost,
      env,
      volumeMounts: [{ volume: content, mountPath: "/var/lib/ghost/content" }],
      readinessProbe: { ...listening, periodSeconds: 10 },
      livenessProbe: { ...listening, periodSeconds: 30, failureThreshold: 5 },
      // The first start creates the database schema; an upgrade migrates it.
      startupProbe: { ...listening, periodSeconds: 5, failureThreshold: 120 },
      securityContext: { capabilities: { drop: ["ALL"] } },
      // Node.js; image processing (sharp) on uploads needs the headroom.
      resources: { requests: { cpu: "50m", memory: "256Mi" }, limits: { memory: "1Gi" } },
    },
    exposures,
    egress,
  });

  return {
    url: server.urls[0] as pulumi.Output<string>,
    adminUrl: pulumi.interpolate`${server.urls[1] ?? server.urls[0]}${ghostAdminPath}/`,
    backups: app.backups(),
  };
}
