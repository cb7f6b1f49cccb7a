import { images } from "@infra/core";
import { type ContainerArgs, type EnvValue, emptyDir, type ResourcesArgs, secretKeyRef } from "@infra/k8s";
import { type AppConfig, createApp, resolveHostname } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { PlaneSettings } from "./config";
import { secrets } from "./secrets";

/** The API's port (gunicorn's `--bind 0.0.0.0:${PORT:-8000}` in `bin/docker-entrypoint-api.sh`). */
export const apiPort = 8000;
/** The port of web, space and admin (their nginx or react-router-serve) and of live (its `PORT`). */
export const frontendPort = 3000;
/** Valkey's and RabbitMQ's ports. */
export const valkeyPort = 6379;
export const amqpPort = 5672;
/**
 * The images' user: `plane` (1000) of the backend image, `node` (1000) of the Node.js ones; nginx,
 * Valkey and RabbitMQ run as any user that owns their writable directories.
 */
const user = 1000;
/**
 * The paths the hostname routes to each service (the plane-ce chart's ingress; the frontends are
 * built with these base paths: `VITE_*_BASE_PATH` of their Dockerfiles). `/` is web's.
 */
export const routes = {
  api: ["/api", "/auth"],
  live: ["/live"],
  space: ["/spaces"],
  admin: ["/god-mode"],
} as const;
/** RabbitMQ's user and virtual host for Plane's Celery (the compose file's `plane`/`plane`). */
const amqpUser = "plane";
const amqpVhost = "plane";
/** Valkey's memory for cache entries, under its container's limit: the oldest go first. */
const valkeyMaxMemory = "256mb";

/** Every container: no capability, nothing written outside its emptyDirs and volumes. */
const readOnly: ContainerArgs["securityContext"] = {
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/** Django with gunicorn or Celery: the chart's 1000Mi limit. */
const pythonResources: ResourcesArgs = {
  requests: { cpu: "50m", memory: "256Mi" },
  limits: { memory: "1Gi" },
};

/** What the backend image writes: Python's temporary files and `plane/logs` (production.py's error log). */
function backendMounts(name: string): NonNullable<ContainerArgs["volumeMounts"]> {
  return [
    { volume: emptyDir(`${name}-tmp`, { sizeLimit: "256Mi" }), mountPath: "/tmp" },
    { volume: emptyDir(`${name}-logs`, { sizeLimit: "64Mi" }), mountPath: "/code/plane/logs" },
  ];
}

/** nginx (web, admin) as a user other than root: its pid file and its temporary files. */
const nginxMounts: NonNullable<ContainerArgs["volumeMounts"]> = [
  { volume: emptyDir("nginx-run", { sizeLimit: "1Mi" }), mountPath: "/var/run" },
  { volume: emptyDir("nginx-cache", { sizeLimit: "64Mi" }), mountPath: "/var/cache/nginx" },
];

/** A generated password of letters and digits (it is put into URLs), kept in the stack's state. */
function password(name: string, parent: pulumi.Resource): pulumi.Output<string> {
  return new random.RandomPassword(name, { length: 40, special: false }, { parent }).result;
}

/**
 * Plane (Community Edition) on the stack's PostgreSQL, private to the tailnet at `plane.<domain>`:
 * the migrator Job, then the API, the Celery worker and beat, the live (collaboration) server and
 * the web, space and admin frontends, with their own Valkey (cache) and RabbitMQ (task queue),
 * uploads in a bucket of the object store that browsers reach by presigned URLs, `SECRET_KEY` and
 * `LIVE_SERVER_SECRET_KEY` generated once for the app. Written with the kit rather than the
 * plane-ce chart, so that every process gets exactly its policies and the database its backups.
 */
export function createPlane(config: AppConfig<PlaneSettings, never>) {
  const { settings } = config;
  const app = createApp({ name: "plane", user: { user, group: user } });
  const database = app.database("postgresql");
  const hostname = resolveHostname({
    label: "plane",
    scope: "site",
    gateway: "private",
    configured: settings.hostname,
  });
  const url = pulumi.interpolate`https://${hostname}`;
  // Browsers upload and download attachments straight to the store (presigned POST and GET URLs
  // to AWS_S3_ENDPOINT_URL, plane/settings/storage.py), from Plane's origin.
  const uploads = app.bucket({ name: "uploads", corsOrigins: [url] });
  // Its definitions and the durable queues of tasks not yet run survive a restart; it is left out
  // of the backups: a restored queue would run stale tasks again, and an empty broker is recreated
  // from RABBITMQ_DEFAULT_* on its first start.
  const queues = app.volume({ name: "rabbitmq", storage: settings.queueStorage, backup: false });
  const stable = app.stableSecrets(secrets);

  // Per-stack credentials, like a database user's: the broker and the cache are rebuilt empty on
  // another server, with new ones.
  const valkeyPassword = password("plane-valkey-password", app.component);
  const valkey = app.secret({
    name: "plane-valkey",
    stringData: {
      password: valkeyPassword,
      url: pulumi.interpolate`redis://:${valkeyPassword}@valkey:${valkeyPort}/0`,
    },
  });
  const amqpPassword = password("plane-rabbitmq-password", app.component);
  const rabbitmq = app.secret({
    name: "plane-rabbitmq",
    stringData: {
      password: amqpPassword,
      url: pulumi.interpolate`amqp://${amqpUser}:${amqpPassword}@rabbitmq:${amqpPort}/${amqpVhost}`,
    },
  });

  // Django reads these in plane/settings/common.py; `configure_instance` takes the instance
  // settings (ENABLE_SIGNUP, ...) once, from plane/utils/instance_config_variables/core.py.
  const djangoEnv: Record<string, EnvValue> = {
    DEBUG: "0",
    SECRET_KEY: stable.ref("secretKey"),
    DATABASE_URL: database.url,
  };
  const storageEnv: Record<string, EnvValue> = {
    // Not Plane's own MinIO: presigned URLs are signed for the endpoint as given.
    USE_MINIO: "0",
    AWS_S3_ENDPOINT_URL: uploads.endpoint,
    AWS_REGION: uploads.region,
    AWS_S3_BUCKET_NAME: uploads.bucket,
    AWS_ACCESS_KEY_ID: uploads.accessKeyId,
    AWS_SECRET_ACCESS_KEY: uploads.secretAccessKey,
    FILE_SIZE_LIMIT: String(settings.uploadLimitMiB * 1024 * 1024),
  };
  const appEnv: Record<string, EnvValue> = {
    ...djangoEnv,
    // The API and the worker ask the live server for page content (settings.LIVE_URL).
    LIVE_BASE_URL: `http://live:${frontendPort}`,
    LIVE_BASE_PATH: "/live/",
    REDIS_URL: secretKeyRef(valkey, "url"),
    AMQP_URL: secretKeyRef(rabbitmq, "url"),
    LIVE_SERVER_SECRET_KEY: stable.ref("liveServerSecretKey"),
    ...storageEnv,
    // Links in e-mails, redirects after sign-in, and the only origin allowed (https only, so
    // Django marks its session and CSRF cookies Secure).
    WEB_URL: url,
    CORS_ALLOWED_ORIGINS: url,
    APP_BASE_URL: url,
    ADMIN_BASE_URL: url,
    SPACE_BASE_URL: url,
    ADMIN_BASE_PATH: "/god-mode/",
    SPACE_BASE_PATH: "/spaces/",
    API_KEY_RATE_LIMIT: "60/minute",
    ENABLE_SIGNUP: settings.instance.signup ? "1" : "0",
    DISABLE_WORKSPACE_CREATION: settings.instance.workspaceCreation ? "0" : "1",
    // Intercom's chat widget calls out from every browser; the policies would drop it anyway.
    IS_INTERCOM_ENABLED: "0",
  };

  // Migrations run once per image (the Job is replaced with it), before everything below: the
  // API, the worker and beat also wait for them (`wait_for_migrations`).
  app.job({
    name: "migrator",
    container: {
      image: images.planeBackend,
      command: ["./bin/docker-entrypoint-migrator.sh"],
      env: djangoEnv,
      volumeMounts: backendMounts("migrator"),
      securityContext: readOnly,
      resources: pythonResources,
    },
    activeDeadlineSeconds: 1800,
  });

  // The image's bin/docker-entrypoint-worker.sh, with the concurrency bounded.
  app.worker({
    name: "worker",
    container: {
      image: images.planeBackend,
      command: [
        "/bin/bash",
        "-c",
        "set -e; python manage.py wait_for_db; python manage.py wait_for_migrations; " +
          `exec celery -A plane worker -l INFO --concurrency ${settings.workerConcurrency}`,
      ],
      env: appEnv,
      volumeMounts: backendMounts("worker"),
      securityContext: readOnly,
      resources: pythonResources,
    },
    reaches: [
      { service: "live", port: frontendPort },
      { service: "valkey", port: valkeyPort },
      { service: "rabbitmq", port: amqpPort },
    ],
    // Celery finishes the tasks it runs on SIGTERM (warm shutdown).
    terminationGracePeriodSeconds: 60,
    egress: settings.egress,
  });

  // Celery beat with django_celery_beat's DatabaseScheduler (plane/celery.py): it only publishes.
  app.worker({
    name: "beat-worker",
    container: {
      image: images.planeBackend,
      command: ["./bin/docker-entrypoint-beat.sh"],
      env: { ...djangoEnv, AMQP_URL: secretKeyRef(rabbitmq, "url") },
      volumeMounts: backendMounts("beat"),
      securityContext: readOnly,
      resources: { requests: { cpu: "10m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    },
    reaches: [{ service: "rabbitmq", port: amqpPort }],
  });

  // The collaborative editor's server (Hocuspocus): websockets under /live/, pages through the API.
  const live = app.service({
    name: "live",
    port: frontendPort,
    container: {
      image: images.planeLive,
      env: {
        PORT: String(frontendPort),
        LIVE_BASE_PATH: "/live",
        API_BASE_URL: `http://api:${apiPort}`,
        REDIS_URL: secretKeyRef(valkey, "url"),
        LIVE_SERVER_SECRET_KEY: stable.ref("liveServerSecretKey"),
        CORS_ALLOWED_ORIGINS: url,
      },
      volumeMounts: [{ volume: emptyDir("live-tmp", { sizeLimit: "64Mi" }), mountPath: "/tmp" }],
      readinessProbe: { httpGet: { path: "/live/health", port: frontendPort }, periodSeconds: 10 },
      livenessProbe: {
        httpGet: { path: "/live/health", port: frontendPort },
        periodSeconds: 30,
        failureThreshold: 5,
      },
      securityContext: readOnly,
      resources: { requests: { cpu: "20m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    },
    reaches: [
      { service: "api", port: apiPort },
      { service: "valkey", port: valkeyPort },
    ],
    routedBy: ["private"],
  });

  const apiHealth = { httpGet: { path: "/", port: apiPort } };
  const api = app.service({
    name: "api",
    port: apiPort,
    container: {
      image: images.planeBackend,
      command: ["./bin/docker-entrypoint-api.sh"],
      env: { ...appEnv, GUNICORN_WORKERS: "1" },
      volumeMounts: [
        ...backendMounts("api"),
        // `collectstatic` at every start (STATIC_ROOT, plane/settings/common.py).
        {
          volume: emptyDir("api-static", { sizeLimit: "128Mi" }),
          mountPath: "/code/plane/static-assets/collected-static",
        },
      ],
      // `/` is plane.web's health_check.
      readinessProbe: { ...apiHealth, periodSeconds: 10 },
      livenessProbe: { ...apiHealth, periodSeconds: 30, failureThreshold: 5 },
      // Before gunicorn: register_instance, configure_instance, create_bucket, clear_cache, collectstatic.
      startupProbe: { ...apiHealth, periodSeconds: 5, failureThreshold: 120 },
      securityContext: readOnly,
      resources: pythonResources,
    },
    reaches: [
      // Created before it: live and the API call each other.
      { service: "live", port: frontendPort },
      { service: "valkey", port: valkeyPort },
      { service: "rabbitmq", port: amqpPort },
    ],
    routedBy: ["private"],
    egress: settings.egress,
  });

  // The published views (react-router-serve, basename /spaces/).
  const space = app.service({
    name: "space",
    port: frontendPort,
    container: {
      image: images.planeSpace,
      // npx writes its cache and logs under the home directory, read-only here.
      env: { npm_config_cache: "/tmp/.npm", npm_config_update_notifier: "false" },
      volumeMounts: [{ volume: emptyDir("space-tmp", { sizeLimit: "64Mi" }), mountPath: "/tmp" }],
      readinessProbe: { tcpSocket: { port: frontendPort }, periodSeconds: 10 },
      livenessProbe: { tcpSocket: { port: frontendPort }, periodSeconds: 30, failureThreshold: 5 },
      securityContext: readOnly,
      resources: { requests: { cpu: "10m", memory: "96Mi" }, limits: { memory: "512Mi" } },
    },
    routedBy: ["private"],
  });

  const nginxResources: ResourcesArgs = {
    requests: { cpu: "10m", memory: "16Mi" },
    limits: { memory: "128Mi" },
  };
  const nginxProbes = {
    readinessProbe: { httpGet: { path: "/", port: frontendPort }, periodSeconds: 10 },
    livenessProbe: { httpGet: { path: "/", port: frontendPort }, periodSeconds: 30, failureThreshold: 5 },
  };

  // The instance admin (god mode): static files under /god-mode/, served by nginx.
  const admin = app.service({
    name: "admin",
    port: frontendPort,
    container: {
      image: images.planeAdmin,
      volumeMounts: nginxMounts,
      ...nginxProbes,
      securityContext: readOnly,
      resources: nginxResources,
    },
    routedBy: ["private"],
  });

  // The web app (static files, nginx) at `/`, and the hostname's other paths to the others.
  const web = app.service({
    name: "web",
    port: frontendPort,
    container: {
      image: images.planeFrontend,
      volumeMounts: nginxMounts,
      ...nginxProbes,
      securityContext: readOnly,
      resources: nginxResources,
    },
    exposures: [
      {
        gateway: "private",
        hostname,
        routes: [
          { paths: [...routes.api], service: api },
          { paths: [...routes.live], service: live },
          { paths: [...routes.space], service: space },
          { paths: [...routes.admin], service: admin },
        ],
      },
    ],
  });

  // Cache only: Plane keeps sessions in PostgreSQL (SESSION_ENGINE plane.db.models.session), so
  // nothing is saved (no RDB snapshots; AOF is off by default) and no volume is needed. It needs no
  // migration either.
  app.service({
    name: "valkey",
    port: valkeyPort,
    portName: "redis",
    after: [],
    container: {
      image: images.valkey,
      args: [
        "valkey-server",
        "--requirepass",
        "$(VALKEY_PASSWORD)",
        "--save",
        "",
        "--maxmemory",
        valkeyMaxMemory,
        "--maxmemory-policy",
        "allkeys-lru",
      ],
      env: { VALKEY_PASSWORD: secretKeyRef(valkey, "password") },
      // Its working directory; nothing is written there with persistence off.
      volumeMounts: [{ volume: emptyDir("valkey-data", { sizeLimit: "16Mi" }), mountPath: "/data" }],
      readinessProbe: { tcpSocket: { port: valkeyPort }, periodSeconds: 10 },
      livenessProbe: { tcpSocket: { port: valkeyPort }, periodSeconds: 30, failureThreshold: 5 },
      securityContext: readOnly,
      resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "384Mi" } },
    },
  });

  // Celery's broker. A fixed node name keeps its data directory (mnesia/<node>) across pods.
  app.service({
    name: "rabbitmq",
    port: amqpPort,
    portName: "amqp",
    after: [],
    container: {
      image: images.rabbitmq,
      env: {
        RABBITMQ_NODENAME: "rabbit@localhost",
        RABBITMQ_DEFAULT_USER: amqpUser,
        RABBITMQ_DEFAULT_PASS: secretKeyRef(rabbitmq, "password"),
        RABBITMQ_DEFAULT_VHOST: amqpVhost,
        // Logs to standard output only.
        RABBITMQ_LOGS: "-",
      },
      volumeMounts: [
        // Its HOME: data, and the Erlang cookie it generates on the first start.
        { volume: queues, mountPath: "/var/lib/rabbitmq" },
        { volume: emptyDir("rabbitmq-tmp", { sizeLimit: "64Mi" }), mountPath: "/tmp" },
        { volume: emptyDir("rabbitmq-log", { sizeLimit: "64Mi" }), mountPath: "/var/log/rabbitmq" },
      ],
      readinessProbe: { tcpSocket: { port: amqpPort }, periodSeconds: 10 },
      livenessProbe: { tcpSocket: { port: amqpPort }, periodSeconds: 30, failureThreshold: 5 },
      startupProbe: { tcpSocket: { port: amqpPort }, periodSeconds: 5, failureThreshold: 60 },
      securityContext: readOnly,
      resources: { requests: { cpu: "20m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    },
    // RabbitMQ syncs its queues to disk before it stops.
    terminationGracePeriodSeconds: 60,
  });

  return {
    /** Plane, in the tailnet; its instance admin at `<url>/god-mode/`. */
    url: web.urls[0] as pulumi.Output<string>,
    backups: app.backups(),
  };
}
