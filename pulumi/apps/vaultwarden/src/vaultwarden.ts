import { ConfigError, images } from "@infra/core";
import { type EnvValue, secretKeyRef } from "@infra/k8s";
import { type AppConfig, type AppEgress, createApp, resolveHostname } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import type { VaultwardenSecretKey, VaultwardenSettings } from "./config";
import { secrets } from "./secrets";

/** Vaultwarden listens here: a port above 1024, so it runs as a plain user. */
const port = 8080;
const user = 1000;

/** Bitwarden's push relay and identity service, by the region the installation id belongs to. */
const pushHosts = {
  us: { relay: "push.bitwarden.com", identity: "identity.bitwarden.com" },
  eu: { relay: "api.bitwarden.eu", identity: "identity.bitwarden.eu" },
} as const;

function requireSecret(
  config: AppConfig<VaultwardenSettings, VaultwardenSecretKey>,
  key: VaultwardenSecretKey,
  because: string,
): pulumi.Output<string> {
  const value = config.secrets[key];
  if (!value) {
    throw new ConfigError(
      `Stack "${pulumi.getStack()}": ${because}, so the secret "vaultwarden:${key}" must be set ` +
        `(pulumi config set --secret ${key} <value> --stack ${pulumi.getStack()})`,
    );
  }
  return value;
}

/**
 * Vaultwarden on the stack's PostgreSQL, private to the tailnet at `vault.<domain>`: `/data`
 * backed up with its database (but the icon cache), an admin page behind a generated token,
 * signups off unless configured, mail and push only when configured (each with its egress).
 */
export function createVaultwarden(config: AppConfig<VaultwardenSettings, VaultwardenSecretKey>) {
  const { settings } = config;
  const app = createApp({ name: "vaultwarden", user: { user, group: user } });
  const database = app.database("postgresql");
  const data = app.volume({
    name: "data",
    storage: settings.storage,
    // Favicons are fetched again when missing.
    backup: { exclude: ["icon_cache"] },
  });
  const stable = app.stableSecrets(secrets);
  const hostname = resolveHostname({
    label: "vault",
    scope: "site",
    gateway: "private",
    configured: settings.hostname,
  });

  // Variables whose values are config secrets, kept in one Secret of the app's.
  const secretEnv: Record<string, pulumi.Output<string>> = {};
  const env: Record<string, EnvValue> = {
    DOMAIN: pulumi.interpolate`https://${hostname}`,
    ROCKET_PORT: String(port),
    DATABASE_URL: database.url,
    // The hash only: vaultwarden never sees the token itself.
    ADMIN_TOKEN: stable.ref("adminTokenHash"),
    SIGNUPS_ALLOWED: String(settings.signupsAllowed),
    ...(settings.icons === "off"
      ? { DISABLE_ICON_DOWNLOAD: "true", ICON_SERVICE: "internal" }
      : { ICON_SERVICE: settings.icons }),
  };
  const egress: AppEgress[] = [];
  if (settings.icons === "internal")
    egress.push({ hosts: ["0.0.0.0/0"], ports: [{ port: 80 }, { port: 443 }] });
  const { smtp, push } = settings;
  if (smtp) {
    Object.assign(env, {
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      SMTP_SECURITY: smtp.security,
      SMTP_FROM: smtp.from,
      ...(smtp.username ? { SMTP_USERNAME: smtp.username } : {}),
    });
    if (smtp.username) {
      secretEnv.SMTP_PASSWORD = requireSecret(config, "smtpPassword", "vaultwarden:smtp.username is set");
    }
    egress.push({ hosts: [smtp.host], ports: [{ port: smtp.port }] });
  }
  if (push) {
    const hosts = pushHosts[push.region];
    Object.assign(env, {
      PUSH_ENABLED: "true",
      PUSH_INSTALLATION_ID: push.installationId,
      PUSH_RELAY_URI: `https://${hosts.relay}`,
      PUSH_IDENTITY_URI: `https://${hosts.identity}`,
    });
    secretEnv.PUSH_INSTALLATION_KEY = requireSecret(config, "pushInstallationKey", "vaultwarden:push is set");
    egress.push({ hosts: [hosts.relay, hosts.identity], ports: [{ port: 443 }] });
  }
  if (Object.keys(secretEnv).length > 0) {
    const credentials = app.secret({ name: "vaultwarden-credentials", stringData: secretEnv });
    for (const variable of Object.keys(secretEnv)) env[variable] = secretKeyRef(credentials, variable);
  }

  const alive = { httpGet: { path: "/alive", port } };
  const server = app.service({
    port,
    container: {
      image: images.vaultwarden,
      env,
      volumeMounts: [{ volume: data, mountPath: "/data" }],
      // /alive also checks the database.
      readinessProbe: { ...alive, periodSeconds: 10 },
      livenessProbe: { ...alive, periodSeconds: 30, failureThreshold: 5 },
      // The first start runs the database migrations.
      startupProbe: { ...alive, periodSeconds: 5, failureThreshold: 60 },
      securityContext: { capabilities: { drop: ["ALL"] } },
      // A Rust server of tens of MiB; the ceiling leaves room for icon downloads and large vaults.
      resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    },
    exposures: [{ gateway: "private", hostname }],
    egress,
  });

  return {
    url: server.urls[0] as pulumi.Output<string>,
    /** The admin page's token (`/admin`). */
    adminToken: stable.values.adminToken,
    backups: app.backups(),
  };
}
