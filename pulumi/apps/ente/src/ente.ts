import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, images } from "@infra/core";
import { type ContainerArgs, createConfigMap, type EnvValue, emptyDir, type ProbeArgs } from "@infra/k8s";
import { type AppConfig, type AppEgress, createApp, resolveHostname } from "@projects/common";
import type { ConfigMap } from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { EnteSecretKey, EnteSettings } from "./config";
import { secrets } from "./secrets";

/** The app's scripts (the registration gate), shipped in a ConfigMap. */
export const enteScriptsDir = join(__dirname, "..", "scripts");

/** Museum's HTTP port (`http.port`'s default without TLS, server/configurations/local.yaml). */
export const museumPort = 8080;
/** Every process of the app runs as this user (museum's and the web image's own users are root). */
const user = 1000;

/**
 * The web apps of ghcr.io/ente-io/web (web/Dockerfile): the port its nginx serves each on, which
 * build under `/out` it serves (albums is the photos build, which renders public albums when it
 * runs on the albums origin), and the label of its default hostname (`ente-*`: `auth.<domain>`
 * is Zitadel's on the same server).
 */
export const webApps = {
  photos: { port: 3000, build: "photos", label: "photos" },
  accounts: { port: 3001, build: "accounts", label: "ente-accounts" },
  albums: { port: 3002, build: "photos", label: "ente-albums" },
  auth: { port: 3003, build: "auth", label: "ente-auth" },
  cast: { port: 3004, build: "cast", label: "ente-cast" },
} as const;
export type WebApp = keyof typeof webApps;
const webAppNames = Object.keys(webApps) as WebApp[];

/**
 * The bucket key museum reads its single store from. Museum knows its data centers by fixed
 * names (server/pkg/utils/s3config/s3config.go); with replication off it uses only the primary hot
 * storage, `b2-eu-cen`, whatever provider is behind it (docs: self-hosting/administration/object-storage).
 */
export const hotStorage = "b2-eu-cen";

/**
 * Museum reads `museum.yaml` and `credentials.yaml` (and its `configurations/`, `migrations/` and
 * `mail-templates/`, which the image has at `/`) from its working directory: its start links
 * them into a directory of its own, with the museum.yaml of the registration it starts with.
 */
const museumConfigDir = "/etc/museum";
const credentialsDir = "/etc/museum-credentials";
const museumRunDir = "/run/museum";
/** Where the registration gate writes `close` once the first account exists. */
const gateDir = "/gate";
const gateScriptsDir = "/opt/ente";

/** Museum's start: its files linked into its working directory, then museum itself. */
function museumStart(gated: boolean): string {
  return [
    "set -eu",
    `cd ${museumRunDir}`,
    "for dir in configurations migrations mail-templates; do ln -sfn /$dir $dir; done",
    `ln -sfn ${credentialsDir}/credentials.yaml credentials.yaml`,
    ...(gated
      ? [
          `if [ -e ${gateDir}/close ]; then registration=closed; else registration=open; fi`,
          `ln -sfn ${museumConfigDir}/museum-$registration.yaml museum.yaml`,
          // What it started with, for the liveness probe.
          "echo $registration > registration",
        ]
      : [`ln -sfn ${museumConfigDir}/museum.yaml museum.yaml`]),
    "exec /museum",
  ].join("\n");
}

/**
 * Museum's liveness: it answers /ping, and (with the gate) it did not start with sign-up open
 * while the gate has closed since: a museum that did is restarted, and starts closed.
 */
function museumLiveness(gated: boolean): ProbeArgs {
  const ping = `wget -q -O /dev/null http://127.0.0.1:${museumPort}/ping`;
  const command = gated
    ? `${ping} && ! { [ -e ${gateDir}/close ] && [ "$(cat ${museumRunDir}/registration)" = open ]; }`
    : ping;
  return { exec: { command: ["/bin/sh", "-c", command] }, periodSeconds: 15, failureThreshold: 3 };
}
/** Where each web pod's init container writes the build it serves, its origins filled in. */
const siteDir = "/site";
const nginxConfigDir = "/etc/ente-web";

/** No capability, a read-only root: every container of the app. */
const locked: ContainerArgs["securityContext"] = {
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * `jwt.secret` as museum decodes it, with Go's padded URL-safe base64 (`base64.URLEncoding`,
 * server/cmd/museum/main.go): the stable secret is unpadded base64url (@infra/app-secrets), so the
 * padding is added back here; the bytes are the same.
 */
export function paddedBase64url(value: string): string {
  return value + "=".repeat((4 - (value.length % 4)) % 4);
}

/**
 * The nginx config of one web app: the image's server block for it (web/Dockerfile), run as the
 * app's user on a read-only root (pid file and temporary files in /tmp, the log on stderr).
 */
function nginxConfig(port: number): string {
  return `worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
daemon off;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    sendfile on;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    server {
        listen ${port};
        root ${siteDir};
        location / { try_files $uri $uri.html /index.html; }
    }
}
`;
}

/**
 * Copies one build of the image into the pod's site directory and fills in the origins, as the
 * image's `/docker-entrypoint.d/90-replace-ente-env.sh` does in place (web/Dockerfile): that script
 * rewrites root's files under /out, which the app's user may not, so the pod's main container
 * serves the copy with the pod's own nginx config instead of the image's entrypoint.
 */
function siteScript(build: string): string {
  return [
    "set -eu",
    `cp -R /out/${build}/. ${siteDir}/`,
    `find ${siteDir} -name '*.js' -exec sed -i` +
      ' -e "s#ENTE_API_ORIGIN_PLACEHOLDER#$ENTE_API_ORIGIN#g"' +
      ' -e "s#ENTE_ALBUMS_ORIGIN_PLACEHOLDER#$ENTE_ALBUMS_ORIGIN#g"' +
      ' -e "s#ENTE_PHOTOS_ORIGIN_PLACEHOLDER#$ENTE_PHOTOS_ORIGIN#g" {} +',
  ].join("\n");
}

/** The museum.yaml of the settings that are no secret (the ConfigMap: a change rolls museum out). */
export interface MuseumSettings {
  /** The web apps museum links to. */
  origins: Record<"accounts" | "albums" | "cast", string>;
  accountsHostname: string;
  store: { endpoint: string; region: string; bucket: string };
  admins: string[];
  /** Whether sign-up is closed (`internal.disable-registration`). */
  registrationClosed: boolean;
  smtp: EnteSettings["smtp"];
}

/** Renders museum.yaml: every key that is no secret (server/configurations/local.yaml names them). */
export function museumYaml(settings: MuseumSettings): string {
  const { origins, smtp } = settings;
  return stringify({
    // Logs go to stdout.
    "log-file": "",
    // TLS ends at the internal gateway; museum serves plain HTTP on 8080.
    http: { "use-tls": false },
    // The links museum hands out (public albums, passkey 2FA, cast pairing) point at the app's own web apps.
    apps: { "public-albums": origins.albums, accounts: origins.accounts, cast: origins.cast },
    // The host, port, name, user and password come from the environment (ENTE_DB_*), read from the
    // database's Secret; the platform's PostgreSQL serves plain connections inside the cluster.
    db: { sslmode: "disable" },
    s3: {
      // The store speaks HTTPS (`are_local_buckets` would turn SSL off) and path-style URLs.
      are_local_buckets: false,
      use_path_style_urls: true,
      [hotStorage]: settings.store,
    },
    replication: { enabled: false },
    // Passkeys are registered on the accounts app (local.yaml's default is localhost).
    webauthn: { rpid: settings.accountsHostname, rporigins: [origins.accounts] },
    internal: {
      // Without admins, museum makes the first account the admin (local.yaml, internal.admins).
      ...(settings.admins.length > 0 ? { admins: settings.admins.map((id) => BigInt(id)) } : {}),
      "disable-registration": settings.registrationClosed,
    },
    ...(smtp
      ? {
          smtp: {
            host: smtp.host,
            port: smtp.port,
            email: smtp.from,
            ...(smtp.username ? { username: smtp.username } : {}),
            ...(smtp.senderName ? { "sender-name": smtp.senderName } : {}),
            ...(smtp.implicitTls ? { encryption: "tls" } : {}),
          },
        }
      : {}),
  });
}

/** The secrets museum reads, rendered as its credentials.yaml (the Secret). */
export interface MuseumCredentials {
  keyEncryption: string;
  keyHash: string;
  jwtSecret: string;
  store: { accessKeyId: string; secretAccessKey: string };
  smtpPassword: string | undefined;
}

/** Renders credentials.yaml, which museum merges over museum.yaml. */
export function credentialsYaml(credentials: MuseumCredentials): string {
  return stringify({
    key: { encryption: credentials.keyEncryption, hash: credentials.keyHash },
    jwt: { secret: paddedBase64url(credentials.jwtSecret) },
    s3: {
      [hotStorage]: { key: credentials.store.accessKeyId, secret: credentials.store.secretAccessKey },
    },
    ...(credentials.smtpPassword === undefined ? {} : { smtp: { password: credentials.smtpPassword } }),
  });
}

/**
 * Ente (end-to-end encrypted photos and 2FA codes) on the stack's PostgreSQL, private to the
 * tailnet: museum (the API) and the photos, accounts, albums, auth and cast web apps, each on a
 * hostname of its own through the internal gateway; the files in a bucket of the platform's object
 * store, which the clients reach directly through presigned URLs; museum's keys generated once for
 * the app. Registration is open until the stack closes it; the first account is the admin unless
 * the stack names the admins.
 */
export function createEnte(config: AppConfig<EnteSettings, EnteSecretKey>) {
  const { settings } = config;
  const app = createApp({ name: "ente", user: { user, group: user } });
  const database = app.database("postgresql");
  const stable = app.stableSecrets(secrets);

  const hostname = (name: WebApp | "api") =>
    resolveHostname({
      label: name === "api" ? "ente-api" : webApps[name].label,
      scope: "site",
      gateway: "private",
      configured: settings.hostnames[name],
      configKey: `hostnames.${name}`,
    });
  const hostnames = {
    api: hostname("api"),
    ...(Object.fromEntries(webAppNames.map((name) => [name, hostname(name)])) as Record<
      WebApp,
      pulumi.Output<string>
    >),
  };
  const origin = (name: WebApp | "api") => pulumi.interpolate`https://${hostnames[name]}`;

  // The browsers of these apps upload and download with presigned URLs of the store's origin.
  const files = app.bucket({
    name: "files",
    corsOrigins: [origin("photos"), origin("albums"), origin("cast")],
  });

  const { smtp } = settings;
  const smtpPassword = config.secrets.smtpPassword;
  if (smtp?.username && !smtpPassword) {
    throw new ConfigError(
      `Stack "${pulumi.getStack()}": ente:smtp.username is set, so the secret "ente:smtpPassword" must be ` +
        `set (pulumi config set --secret smtpPassword <value> --stack ${pulumi.getStack()})`,
    );
  }

  const gated = settings.registration === "first-account";
  const museumFile = (registrationClosed: boolean) =>
    pulumi
      .all([
        origin("accounts"),
        origin("albums"),
        origin("cast"),
        hostnames.accounts,
        files.endpoint,
        files.region,
      ])
      .apply(([accounts, albums, cast, accountsHostname, endpoint, region]) =>
        museumYaml({
          origins: { accounts, albums, cast },
          accountsHostname,
          store: { endpoint, region, bucket: files.bucket },
          admins: settings.admins,
          registrationClosed,
          smtp,
        }),
      );
  // With the gate, both files: museum starts with the closed one once the first account exists.
  const museumConfig = createConfigMap({
    name: "museum-config",
    namespace: app.namespace,
    data: gated
      ? { "museum-open.yaml": museumFile(false), "museum-closed.yaml": museumFile(true) }
      : { "museum.yaml": museumFile(settings.registration === "closed") },
  });
  const credentials = app.secret({
    name: "museum-credentials",
    stringData: {
      "credentials.yaml": pulumi
        .all([
          stable.values.keyEncryption,
          stable.values.keyHash,
          stable.values.jwtSecret,
          files.credentials.accessKeyId,
          files.credentials.secretAccessKey,
          smtpPassword ?? pulumi.output(undefined),
        ])
        .apply(([keyEncryption, keyHash, jwtSecret, accessKeyId, secretAccessKey, password]) =>
          credentialsYaml({
            keyEncryption,
            keyHash,
            jwtSecret,
            store: { accessKeyId, secretAccessKey },
            smtpPassword: smtp ? password : undefined,
          }),
        ),
    },
  });

  const museumEnv: Record<string, EnvValue> = {
    // Museum's environment overrides its files (ENTE_ prefix, dots as underscores).
    ENTE_DB_HOST: database.host,
    ENTE_DB_PORT: database.port,
    ENTE_DB_NAME: database.database,
    ENTE_DB_USER: database.username,
    ENTE_DB_PASSWORD: database.password,
  };
  const egress: AppEgress[] = smtp ? [{ hosts: [smtp.host], ports: [{ port: smtp.port }] }] : [];
  const ping: ProbeArgs = { httpGet: { path: "/ping", port: museumPort } };
  const gate = emptyDir("registration-gate", { sizeLimit: "1Mi" });
  const gateScripts = gated
    ? createConfigMap({
        name: "registration-gate",
        namespace: app.namespace,
        data: { "registration-gate.sh": readFileSync(join(enteScriptsDir, "registration-gate.sh"), "utf8") },
      })
    : undefined;
  const gateContainer = (name: string, mode: "once" | "watch", scripts: ConfigMap): ContainerArgs => ({
    name,
    image: images.postgresql,
    command: ["bash", `${gateScriptsDir}/registration-gate.sh`, mode],
    env: {
      GATE_DIR: gateDir,
      PGHOST: database.host,
      PGPORT: database.port,
      PGDATABASE: database.database,
      PGUSER: database.username,
      PGPASSWORD: database.password,
      PGSSLMODE: "disable",
    },
    volumeMounts: [
      { volume: scripts, mountPath: gateScriptsDir },
      { volume: gate, mountPath: gateDir },
    ],
    securityContext: locked,
    resources: { requests: { cpu: "5m", memory: "16Mi" }, limits: { memory: "64Mi" } },
  });
  const museum = app.service({
    name: "museum",
    port: museumPort,
    ...(gateScripts
      ? {
          initContainers: [gateContainer("registration-gate", "once", gateScripts)],
          sidecars: [gateContainer("registration-watch", "watch", gateScripts)],
        }
      : {}),
    container: {
      image: images.enteMuseum,
      command: ["/bin/sh", "-c", museumStart(gated)],
      env: museumEnv,
      volumeMounts: [
        { volume: museumConfig, mountPath: museumConfigDir },
        { volume: credentials, mountPath: credentialsDir },
        { volume: emptyDir("museum-run", { sizeLimit: "1Mi" }), mountPath: museumRunDir },
        ...(gated ? [{ volume: gate, mountPath: gateDir, readOnly: true }] : []),
        // Replication's temporary files (`replication.tmp-storage`, off here) and Go's temp dir.
        { volume: emptyDir("tmp", { sizeLimit: "1Gi" }), mountPath: "/tmp" },
      ],
      readinessProbe: { ...ping, periodSeconds: 10 },
      livenessProbe: museumLiveness(gated),
      // Museum runs its database migrations at start.
      startupProbe: { ...ping, periodSeconds: 5, failureThreshold: 120 },
      securityContext: locked,
      resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "1Gi" } },
    },
    // Museum reads the store's key from credentials.yaml only: the kit's policies to the store.
    buckets: [files],
    exposures: [{ gateway: "private", hostname: hostnames.api }],
    egress,
  });

  const nginx = createConfigMap({
    name: "web-nginx",
    namespace: app.namespace,
    data: Object.fromEntries(webAppNames.map((name) => [`${name}.conf`, nginxConfig(webApps[name].port)])),
  });
  const web = Object.fromEntries(
    webAppNames.map((name) => {
      const { port, build } = webApps[name];
      const site = emptyDir("site", { sizeLimit: "1Gi" });
      const listening: ProbeArgs = { httpGet: { path: "/", port } };
      const service = app.service({
        name,
        port,
        initContainers: [
          {
            name: "site",
            image: images.enteWeb,
            command: ["/bin/sh", "-c", siteScript(build)],
            // The image's variables (web/Dockerfile): every app calls museum at ENTE_API_ORIGIN;
            // the photos build also links to the albums app and back to itself.
            env: {
              ENTE_API_ORIGIN: origin("api"),
              ENTE_ALBUMS_ORIGIN: origin("albums"),
              ENTE_PHOTOS_ORIGIN: origin("photos"),
            },
            volumeMounts: [{ volume: site, mountPath: siteDir }],
            securityContext: locked,
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "256Mi" } },
          },
        ],
        container: {
          image: images.enteWeb,
          command: ["nginx", "-e", "stderr", "-c", `${nginxConfigDir}/${name}.conf`],
          volumeMounts: [
            { volume: nginx, mountPath: nginxConfigDir },
            { volume: site, mountPath: siteDir, readOnly: true },
            { volume: emptyDir("tmp", { sizeLimit: "64Mi" }), mountPath: "/tmp" },
          ],
          readinessProbe: { ...listening, periodSeconds: 10 },
          livenessProbe: { ...listening, periodSeconds: 30, failureThreshold: 5 },
          securityContext: locked,
          resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
        },
        // Static files only: the browser calls museum, the pod calls nothing.
        exposures: [{ gateway: "private", hostname: hostnames[name] }],
      });
      return [name, service.urls[0] as pulumi.Output<string>];
    }),
  ) as Record<WebApp, pulumi.Output<string>>;

  return {
    /** The photos web app. */
    url: web.photos,
    /** Museum: the server endpoint the mobile and desktop apps are pointed at. */
    apiUrl: museum.urls[0] as pulumi.Output<string>,
    /** Every web app's URL, by app. */
    webUrls: web,
    /** The bucket of the users' (end-to-end encrypted) files. */
    bucket: files.bucket,
    backups: app.backups(),
  };
}
