import { images } from "@infra/core";
import { type EnvValue, emptyDir } from "@infra/k8s";
import { type AppConfig, createApp, resolveHostname } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import type { EtebaseSettings } from "./config";
import { secrets } from "./secrets";

/** uvicorn's port in the image: above 1024, so the image's own user can bind it. */
const port = 3735;
/** The image's `etebase` user and group. */
const user = 373;
/**
 * Where the image's entrypoint writes the server's settings file (`etebase-server.ini`). It writes
 * the file from the environment only when the file is missing; on a volume that lives as long as
 * the pod, every new pod writes it afresh, so a changed setting (the hostname, the database
 * password a server issued) takes effect, and the file, which holds that password, never reaches
 * the backups.
 */
const settingsDir = "/etc/etebase-server";

/**
 * Etebase (the EteSync server) on the stack's PostgreSQL, private to the tailnet at
 * `etebase.<domain>`: `/data` (users' items, Django's secret) backed up with its database,
 * migrations on every start so an upgraded image migrates, a first superuser with a generated
 * password, and nothing outside the cluster reachable (it sends no mail).
 */
export function createEtebase(config: AppConfig<EtebaseSettings, never>) {
  const { settings } = config;
  const app = createApp({ name: "etebase", user: { user, group: user } });
  const database = app.database("postgresql");
  const data = app.volume({
    name: "data",
    storage: settings.storage,
  });
  const stable = app.stableSecrets(secrets);
  const hostname = resolveHostname({
    label: "etebase",
    scope: "site",
    gateway: "private",
    configured: settings.hostname,
  });

  const env: Record<string, EnvValue> = {
    // Plain HTTP: the gateway terminates TLS.
    SERVER: "uvicorn",
    PORT: String(port),
    ETEBASE_EASY_CONFIG_PATH: `${settingsDir}/etebase-server.ini`,
    DB_ENGINE: "postgres",
    DATABASE_HOST: database.host,
    DATABASE_PORT: database.port,
    DATABASE_NAME: database.database,
    DATABASE_USER: database.username,
    DATABASE_PASSWORD: database.password,
    // One entry: the settings file takes the value as a single host. It also makes
    // https://<hostname> a trusted CSRF origin, which the admin page's forms need.
    ALLOWED_HOSTS: hostname,
    // Any non-empty value makes the entrypoint migrate an existing database at start (a fresh one
    // is migrated regardless), so a new image tag brings its migrations.
    AUTO_UPDATE: "true",
    // Read only when the database is fresh: a restored one keeps its users.
    SUPER_USER: settings.superuser.username,
    SUPER_PASS: stable.ref("superuserPassword"),
  };

  // uvicorn listens only once the entrypoint has migrated; its HTTP answers any Host but the one
  // in ALLOWED_HOSTS with 400, and the kubelet's requests name the pod's address.
  const listening = { tcpSocket: { port } };
  const server = app.service({
    port,
    container: {
      image: images.etebase,
      env,
      volumeMounts: [
        { volume: data, mountPath: "/data" },
        { volume: emptyDir("settings"), mountPath: settingsDir },
      ],
      readinessProbe: { ...listening, periodSeconds: 10 },
      livenessProbe: { ...listening, periodSeconds: 30, failureThreshold: 5 },
      // Migrations (all of them on a fresh database) run before uvicorn starts.
      startupProbe: { ...listening, periodSeconds: 5, failureThreshold: 60 },
      securityContext: { capabilities: { drop: ["ALL"] } },
      // Django under uvicorn, whose migrations at start need the most.
      resources: { requests: { cpu: "10m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    },
    exposures: [{ gateway: "private", hostname }],
  });

  return {
    url: server.urls[0] as pulumi.Output<string>,
    /** The first superuser of `/admin`, who creates the accounts. */
    superuser: pulumi.secret({
      username: settings.superuser.username,
      password: stable.values.superuserPassword,
    }),
    backups: app.backups(),
  };
}
