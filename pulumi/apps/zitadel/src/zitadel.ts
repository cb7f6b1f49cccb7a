import { images } from "@infra/core";
import {
  type ContainerArgs,
  type EnvValue,
  type ProbeArgs,
  type ResourcesArgs,
  secretKeyRef,
} from "@infra/k8s";
import { type AppConfig, createApp, resolveHostname } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import type { ZitadelSettings } from "./config";
import { secrets } from "./secrets";

/** Zitadel's API, gRPC and console port (`ZITADEL_PORT`'s default). */
const port = 8080;
/** The login UI's port (the image's `PORT`). */
const loginPort = 3000;
/** Where the login UI is served, on Zitadel's own hostname (its `NEXT_PUBLIC_BASE_PATH`). */
export const loginPath = "/ui/v2/login";
/** The images' user (the chart's `podSecurityContext.runAsUser`). */
const user = 1000;
/** Where the setup step writes the login client's token and the login UI reads it. */
const loginClientDir = "/login-client";
/** The login client's token expires then: long after any server this runs on. */
const loginClientTokenExpiry = "2099-01-01T00:00:00Z";

/**
 * The first admin's password: the stable random letters and digits, then one symbol, upper- and
 * lower-case letter and digit, which Zitadel's default password policy asks for (setup fails on
 * a password it rejects).
 */
function firstAdminPassword(random: pulumi.Output<string>): pulumi.Output<string> {
  return pulumi.secret(random.apply((value) => `${value}!Aa1`));
}

/** Zitadel's Go binary; the setup's projections and a busy instance take their memory. */
const zitadelResources: ResourcesArgs = {
  requests: { cpu: "50m", memory: "256Mi" },
  limits: { memory: "1Gi" },
};

/** Every Zitadel container: the image's user, no capability, a read-only root. */
const zitadelSecurity: ContainerArgs["securityContext"] = {
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * Zitadel on the stack's PostgreSQL, public at `auth.<domain>` through Cloudflare: the init and
 * setup steps as Jobs that run in that order and that the server and the login UI wait for (the
 * kit's default for jobs created before them), TLS ending at the gateway and HTTP/2
 * cleartext behind it (gRPC), the login UI under `/ui/v2/login` of the same hostname, the
 * masterkey and the first admin's password generated once for the app.
 */
export function createZitadel(config: AppConfig<ZitadelSettings, never>) {
  const { settings } = config;
  const app = createApp({ name: "zitadel", user: { user, group: user } });
  const database = app.database("postgresql");
  // The login client's token, which the setup step writes once, with the first instance: it
  // belongs to the data (a restored database has no way to write it again).
  const loginClient = app.volume({ name: "login-client", storage: settings.storage });
  const stable = app.stableSecrets(secrets);
  const hostname = resolveHostname({
    label: "auth",
    scope: "site",
    gateway: "public",
    configured: settings.hostname,
  });
  const { firstInstance } = settings;
  const adminPassword = firstAdminPassword(stable.values.adminPassword);
  const firstAdmin = app.secret({ name: "zitadel-first-admin", stringData: { password: adminPassword } });
  const loginUrl = pulumi.interpolate`https://${hostname}${loginPath}`;

  // Zitadel reads every setting from ZITADEL_<PATH> (cmd/defaults.yaml, cmd/setup/steps.yaml).
  const databaseEnv: Record<string, EnvValue> = {
    ZITADEL_DATABASE_POSTGRES_HOST: database.host,
    ZITADEL_DATABASE_POSTGRES_PORT: database.port,
    ZITADEL_DATABASE_POSTGRES_DATABASE: database.database,
    ZITADEL_DATABASE_POSTGRES_USER_USERNAME: database.username,
    ZITADEL_DATABASE_POSTGRES_USER_PASSWORD: database.password,
    // The platform's PostgreSQL serves plain connections inside the cluster.
    ZITADEL_DATABASE_POSTGRES_USER_SSL_MODE: "disable",
  };
  const instanceEnv: Record<string, EnvValue> = {
    ...databaseEnv,
    ZITADEL_MASTERKEY: stable.ref("masterkey"),
    // Clients reach https://<hostname>:443; the gateway ends TLS and passes on h2c.
    ZITADEL_EXTERNALDOMAIN: hostname,
    ZITADEL_EXTERNALPORT: "443",
    ZITADEL_EXTERNALSECURE: "true",
    ZITADEL_TLS_ENABLED: "false",
    ZITADEL_PORT: String(port),
    // Pods have unique hostnames; the default webhook asks Google Cloud's metadata server.
    ZITADEL_MACHINE_IDENTIFICATION_HOSTNAME_ENABLED: "true",
    ZITADEL_MACHINE_IDENTIFICATION_WEBHOOK_ENABLED: "false",
    // Login v2, served by the login UI on this hostname (the docs' compose file).
    ZITADEL_DEFAULTINSTANCE_FEATURES_LOGINV2_REQUIRED: "true",
    ZITADEL_DEFAULTINSTANCE_FEATURES_LOGINV2_BASEURI: pulumi.interpolate`${loginUrl}/`,
    ZITADEL_OIDC_DEFAULTLOGINURLV2: pulumi.interpolate`${loginUrl}/login?authRequest=`,
    ZITADEL_OIDC_DEFAULTLOGOUTURLV2: pulumi.interpolate`${loginUrl}/logout?post_logout_redirect=`,
    ZITADEL_SAML_DEFAULTLOGINURLV2: pulumi.interpolate`${loginUrl}/login?samlRequest=`,
  };

  // `init zitadel` creates Zitadel's schemas and tables as the app's own user, which owns the
  // database the kit created: the full `init` would also create the user and the database, and
  // needs the server's superuser for it, which the app is never given.
  app.job({
    name: "zitadel-init",
    container: {
      image: images.zitadel,
      args: ["init", "zitadel"],
      env: databaseEnv,
      securityContext: zitadelSecurity,
      resources: zitadelResources,
    },
    activeDeadlineSeconds: 300,
  });

  // `setup` runs the migrations (every upgrade replaces the Job, so it runs again first) and, on
  // an empty database, creates the first instance: its admin and the login client, whose token it
  // writes to the volume. Projections are filled here rather than at the server's first start.
  app.job({
    name: "zitadel-setup",
    container: {
      image: images.zitadel,
      args: ["setup", "--masterkeyFromEnv", "--init-projections=true"],
      env: {
        ...instanceEnv,
        ZITADEL_FIRSTINSTANCE_ORG_NAME: firstInstance.organization,
        ZITADEL_FIRSTINSTANCE_ORG_HUMAN_USERNAME: firstInstance.adminUsername,
        ...(firstInstance.adminEmail
          ? { ZITADEL_FIRSTINSTANCE_ORG_HUMAN_EMAIL_ADDRESS: firstInstance.adminEmail }
          : {}),
        ZITADEL_FIRSTINSTANCE_ORG_HUMAN_PASSWORD: secretKeyRef(firstAdmin, "password"),
        // The generated password opens the first login only; the admin chooses their own there.
        ZITADEL_FIRSTINSTANCE_ORG_HUMAN_PASSWORDCHANGEREQUIRED: "true",
        ZITADEL_FIRSTINSTANCE_ORG_LOGINCLIENT_MACHINE_USERNAME: "login-client",
        ZITADEL_FIRSTINSTANCE_ORG_LOGINCLIENT_MACHINE_NAME: "Login UI",
        ZITADEL_FIRSTINSTANCE_ORG_LOGINCLIENT_PAT_EXPIRATIONDATE: loginClientTokenExpiry,
        ZITADEL_FIRSTINSTANCE_LOGINCLIENTPATPATH: `${loginClientDir}/pat`,
      },
      volumeMounts: [{ volume: loginClient, mountPath: loginClientDir }],
      securityContext: zitadelSecurity,
      resources: zitadelResources,
    },
    activeDeadlineSeconds: 900,
  });

  const loginHealthy: ProbeArgs = { httpGet: { path: `${loginPath}/healthy`, port: loginPort } };
  const login = app.service({
    name: "zitadel-login",
    port: loginPort,
    container: {
      image: images.zitadelLogin,
      env: {
        // Zitadel's Service, addressed as the public hostname so that it finds its instance.
        ZITADEL_API_URL: `http://zitadel:${port}`,
        CUSTOM_REQUEST_HEADERS: pulumi.interpolate`Host:${hostname}`,
        NEXT_PUBLIC_BASE_PATH: loginPath,
        ZITADEL_SERVICE_USER_TOKEN_FILE: `${loginClientDir}/pat`,
      },
      volumeMounts: [{ volume: loginClient, mountPath: loginClientDir, readOnly: true }],
      readinessProbe: { ...loginHealthy, periodSeconds: 10 },
      livenessProbe: { ...loginHealthy, periodSeconds: 30, failureThreshold: 5 },
      securityContext: zitadelSecurity,
      // A Next.js server.
      resources: { requests: { cpu: "20m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    },
    reaches: [{ service: "zitadel", port }],
    // The server's exposure routes the login path here.
    routedBy: ["public"],
  });

  const server = app.service({
    port,
    // gRPC needs HTTP/2 end to end: Traefik speaks h2c to Zitadel, which serves TLS nowhere.
    protocol: "h2c",
    container: {
      image: images.zitadel,
      args: ["start", "--masterkeyFromEnv"],
      env: instanceEnv,
      // /debug/healthz answers once the process serves; /debug/ready once it is ready for traffic.
      readinessProbe: { httpGet: { path: "/debug/ready", port }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: "/debug/healthz", port }, periodSeconds: 30, failureThreshold: 5 },
      startupProbe: { httpGet: { path: "/debug/ready", port }, periodSeconds: 5, failureThreshold: 60 },
      securityContext: zitadelSecurity,
      resources: zitadelResources,
    },
    exposures: [{ gateway: "public", hostname, routes: [{ paths: [loginPath], service: login }] }],
    egress: settings.egress,
  });

  return {
    url: server.urls[0] as pulumi.Output<string>,
    /** The first admin's login name: `<user>@<organization>.<hostname>` (Zitadel's org domain). */
    adminLoginName: pulumi.interpolate`${firstInstance.adminUsername}@${firstInstance.organization}.${hostname}`,
    /** The first admin's password, for the first login only. */
    adminPassword,
    backups: app.backups(),
  };
}
