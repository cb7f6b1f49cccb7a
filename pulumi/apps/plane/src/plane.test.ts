import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { setConfig, wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach, openPaths } from "@tools/synth/src/reachability";
import { planeConfig } from "./config";
import { secrets } from "./secrets";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests Plane's own.
const project = "plane";
const stack = "local-a";
const { output, manifest, resource, config, privateDomain } = exampleApp(project, stack);

/** Plane run again on local-a with settings added to its example config. */
const withSettings = (settings: Record<string, unknown>) =>
  output.rerun(stack, project, setConfig(project, settings));

const job = "kubernetes:batch/v1:Job";
const deployment = "kubernetes:apps/v1:Deployment";
const hostname = () => `plane.${privateDomain()}`;
const url = () => `https://${hostname()}`;
const dependsOn = (dependent: [string, string], dependency: [string, string]) =>
  resource(...dependent).dependsOn.includes(resource(...dependency).urn);

/** What synth answers for a key of secrets/apps/plane.yaml (tools/synth/src/invokes.ts). */
const stableSecretPlaceholder = (key: string) =>
  createHash("sha256")
    .update(`synth-app-secret:${stack}:secrets/apps/${project}.yaml:${key}`)
    .digest("base64url");

/** The public, fixed values Plane's chart and compose files default to. */
const publicDefaults = [
  "60gp0byfz2dvffa45cxl20p1scy9xbpf6d8c5y0geejgkyp1b5",
  "htbqvBJAgpm9bzvf3r4urJer0ENReatceh",
  "2FiJk1U2aiVPEQtzLehYGlTSnTnrs7LW",
];

const backend = ["api", "worker", "beat-worker"];
const frontends = ["web", "space", "admin"];
const workloads = [...backend, "live", ...frontends, "valkey", "rabbitmq"];

describe("the Plane app on the example stacks", () => {
  it("runs the five Plane images of one pinned v1 release, the backend image for the API, worker, beat and migrator", () => {
    const tag = images.planeBackend.split(":")[1];
    assert.match(tag ?? "", /^v1\.\d+\.\d+$/);
    for (const [key, name] of [
      ["planeFrontend", "plane-frontend"],
      ["planeSpace", "plane-space"],
      ["planeAdmin", "plane-admin"],
      ["planeLive", "plane-live"],
      ["planeBackend", "plane-backend"],
    ] as const) {
      assert.equal(images[key], `makeplane/${name}:${tag}`);
    }
    assert.equal(container(manifest("Job", "migrator")).image, images.planeBackend);
    for (const name of backend)
      assert.equal(container(manifest("Deployment", name)).image, images.planeBackend);
    assert.equal(container(manifest("Deployment", "live")).image, images.planeLive);
    assert.equal(container(manifest("Deployment", "web")).image, images.planeFrontend);
    assert.equal(container(manifest("Deployment", "space")).image, images.planeSpace);
    assert.equal(container(manifest("Deployment", "admin")).image, images.planeAdmin);
    assert.match(images.valkey, /^valkey\/valkey:8\.\d+\.\d+-alpine$/);
    assert.match(images.rabbitmq, /^rabbitmq:4\.2\.\d+-alpine$/);
  });

  it("runs every process as user 1000 on a read-only root filesystem, writing only to its emptyDirs and volumes", () => {
    for (const object of [
      manifest("Job", "migrator"),
      ...workloads.map((name) => manifest("Deployment", name)),
    ]) {
      const name = object.metadata.name;
      assert.equal(podSpec(object).securityContext.runAsUser, 1000, name);
      assert.equal(container(object).securityContext.readOnlyRootFilesystem, true, name);
    }
    assert.deepEqual(
      container(manifest("Deployment", "api")).volumeMounts.map(
        (mount: Record<string, any>) => mount.mountPath,
      ),
      ["/tmp", "/code/plane/logs", "/code/plane/static-assets/collected-static"],
    );
    for (const name of ["web", "admin"]) {
      assert.deepEqual(
        container(manifest("Deployment", name)).volumeMounts.map(
          (mount: Record<string, any>) => mount.mountPath,
        ),
        ["/var/run", "/var/cache/nginx"],
        name,
      );
    }
  });

  it("starts each backend process with the image's entrypoint, the worker with a bounded Celery concurrency", async () => {
    assert.deepEqual(container(manifest("Job", "migrator")).command, ["./bin/docker-entrypoint-migrator.sh"]);
    assert.deepEqual(container(manifest("Deployment", "api")).command, ["./bin/docker-entrypoint-api.sh"]);
    assert.deepEqual(container(manifest("Deployment", "beat-worker")).command, [
      "./bin/docker-entrypoint-beat.sh",
    ]);
    const worker = container(manifest("Deployment", "worker")).command;
    assert.deepEqual(worker.slice(0, 2), ["/bin/bash", "-c"]);
    assert.match(
      worker[2],
      /wait_for_db.*wait_for_migrations.*exec celery -A plane worker -l INFO --concurrency 2$/,
    );
    const rendered = await withSettings({ workerConcurrency: 4 });
    assert.deepEqual(rendered.errors, []);
    assert.match(container(rendered.manifest("Deployment", "worker")).command[2], /--concurrency 4$/);
  });

  it("runs the migrator Job first: the API, the worker and beat start only once it completed, Valkey and RabbitMQ at once", () => {
    assert.ok(dependsOn([job, "plane/migrator"], [job, "postgresql/plane-plane-database"]));
    assert.ok(dependsOn([job, "plane/migrator"], [job, "plane/plane-restore"]));
    for (const name of [...backend, "live", ...frontends]) {
      assert.ok(dependsOn([deployment, `plane/${name}`], [job, "plane/migrator"]), name);
    }
    for (const name of ["valkey", "rabbitmq"]) {
      assert.equal(dependsOn([deployment, `plane/${name}`], [job, "plane/migrator"]), false, name);
    }
    // The migrator gets the database and the secret key, nothing of the broker, cache or store.
    assert.deepEqual(env(manifest("Job", "migrator")), {
      DEBUG: "0",
      SECRET_KEY: fromSecret("plane-stable", "secretKey"),
      DATABASE_URL: fromSecret("plane-database", "url"),
    });
  });

  it("gives the API and the worker the database, Valkey, RabbitMQ, the stable keys and Plane's one origin", () => {
    for (const name of ["api", "worker"]) {
      const variables = env(manifest("Deployment", name));
      assert.deepEqual(variables.DATABASE_URL, fromSecret("plane-database", "url"), name);
      assert.deepEqual(variables.REDIS_URL, fromSecret("plane-valkey", "url"), name);
      assert.deepEqual(variables.AMQP_URL, fromSecret("plane-rabbitmq", "url"), name);
      assert.deepEqual(variables.SECRET_KEY, fromSecret("plane-stable", "secretKey"), name);
      assert.deepEqual(
        variables.LIVE_SERVER_SECRET_KEY,
        fromSecret("plane-stable", "liveServerSecretKey"),
        name,
      );
      for (const variable of [
        "WEB_URL",
        "CORS_ALLOWED_ORIGINS",
        "APP_BASE_URL",
        "ADMIN_BASE_URL",
        "SPACE_BASE_URL",
      ]) {
        assert.equal(variables[variable], url(), `${name} ${variable}`);
      }
      assert.equal(variables.ADMIN_BASE_PATH, "/god-mode/", name);
      assert.equal(variables.SPACE_BASE_PATH, "/spaces/", name);
      assert.equal(variables.DEBUG, "0", name);
      assert.equal(variables.IS_INTERCOM_ENABLED, "0", name);
    }
    assert.equal(env(manifest("Deployment", "api")).GUNICORN_WORKERS, "1");
    // The API and the worker ask the live server for page content; live calls the API back.
    for (const name of ["api", "worker"]) {
      assert.equal(env(manifest("Deployment", name)).LIVE_BASE_URL, "http://live:3000", name);
      assert.ok(canReach(output.model(stack), `plane/${name}`, "plane/live", 3000), name);
    }
    assert.ok(canReach(output.model(stack), "plane/live", "plane/api", 8000));
    // Beat only publishes scheduled tasks: the database (its schedule) and the broker.
    assert.deepEqual(Object.keys(env(manifest("Deployment", "beat-worker"))).sort(), [
      "AMQP_URL",
      "DATABASE_URL",
      "DEBUG",
      "SECRET_KEY",
    ]);
  });

  it("points live at the API's Service and Valkey, under /live, with the stable live server key", () => {
    const variables = env(manifest("Deployment", "live"));
    assert.deepEqual(variables, {
      PORT: "3000",
      LIVE_BASE_PATH: "/live",
      API_BASE_URL: "http://api:8000",
      REDIS_URL: fromSecret("plane-valkey", "url"),
      LIVE_SERVER_SECRET_KEY: fromSecret("plane-stable", "liveServerSecretKey"),
      CORS_ALLOWED_ORIGINS: url(),
    });
    assert.deepEqual(container(manifest("Deployment", "live")).readinessProbe.httpGet, {
      path: "/live/health",
      port: 3000,
    });
  });

  it("gives the frontends no secret and no variable of Plane's: their paths are built into the images", () => {
    for (const name of ["web", "admin"])
      assert.equal(container(manifest("Deployment", name)).env, undefined, name);
    assert.deepEqual(Object.keys(env(manifest("Deployment", "space"))).sort(), [
      "npm_config_cache",
      "npm_config_update_notifier",
    ]);
  });

  it("generates SECRET_KEY and LIVE_SERVER_SECRET_KEY once for the app, never the public defaults of Plane's chart", async () => {
    assert.deepEqual(secrets.secretKey, { kind: "string", length: 50, alphabet: "alphanumeric" });
    assert.deepEqual(secrets.liveServerSecretKey, { kind: "string", length: 32, alphabet: "alphanumeric" });
    assert.deepEqual(Object.keys(manifest("Secret", "plane-stable").stringData).sort(), [
      "liveServerSecretKey",
      "secretKey",
    ]);
    // Synth answers the decryption of secrets/apps/plane.yaml with a placeholder per key.
    const rendered = await output.rerun(stack, project, () => {});
    const values = rendered.manifest("Secret", "plane-stable").stringData as Record<string, string>;
    for (const key of ["secretKey", "liveServerSecretKey"]) {
      assert.equal(values[key], stableSecretPlaceholder(key), key);
      assert.ok(!publicDefaults.includes(values[key] ?? ""), key);
    }
    // No container is given a key in plain text.
    for (const object of [
      manifest("Job", "migrator"),
      ...workloads.map((name) => manifest("Deployment", name)),
    ]) {
      for (const name of ["SECRET_KEY", "LIVE_SERVER_SECRET_KEY"]) {
        const value = env(object)[name];
        assert.ok(value === undefined || typeof value === "object", `${object.metadata.name} ${name}`);
      }
    }
  });

  it("serves every path of Plane on plane.<private domain>, in the tailnet only, with the server's wildcard certificate and recorded for the private DNS: / web, /api and /auth the API, /live, /spaces, /god-mode", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const exposure = output.exposure(stack, project, "web");
    assert.deepEqual(exposure.hostnames, [hostname()]);
    assert.deepEqual(
      exposure.rules.map((rule) => [
        rule.matches.map((match: Record<string, any>) => match.path.value),
        rule.backendRefs.map((ref: Record<string, any>) => `${ref.name}:${ref.port}`),
      ]),
      [
        [["/"], ["web:3000"]],
        [["/api", "/auth"], ["api:8000"]],
        [["/live"], ["live:3000"]],
        [["/spaces"], ["space:3000"]],
        [["/god-mode"], ["admin:3000"]],
      ],
    );
    assert.equal(exposure.gatewayClass, gateway.gatewayClass);
    assert.deepEqual(exposure.certificateRefs, [wildcardCertificateRef]);
    assert.equal(exposure.record, undefined);
    assert.equal(exposure.privateAddress, gateway.clusterIp);
    assert.deepEqual(output.privateNames(stack, project), [
      { hostname: hostname(), address: gateway.clusterIp },
    ]);
    assert.equal(output.outputs(stack, project).url, url());
    const model = output.model(stack);
    for (const [name, port] of [
      ["web", 3000],
      ["api", 8000],
      ["live", 3000],
      ["space", 3000],
      ["admin", 3000],
    ] as const) {
      assert.ok(canReach(model, "internal-gateway/traefik", `plane/${name}`, port), name);
    }
    for (const name of ["valkey", "rabbitmq"]) {
      assert.equal(
        canReach(model, "internal-gateway/traefik", `plane/${name}`, name === "valkey" ? 6379 : 5672),
        false,
        name,
      );
    }
    // The Celery worker and beat serve nothing: no Service, no port of theirs is open to anyone.
    for (const name of ["worker", "beat-worker"]) {
      assert.ok(
        !output
          .manifests(stack, project)
          .some((object) => object.kind === "Service" && object.metadata.name === name),
        name,
      );
      assert.equal(container(manifest("Deployment", name)).ports, undefined, name);
    }
  });

  it("stores attachments in the bucket plane-uploads of the store's endpoint, which browsers at Plane's origin may use", () => {
    for (const name of ["api", "worker"]) {
      const variables = env(manifest("Deployment", name));
      assert.equal(variables.USE_MINIO, "0", name);
      assert.equal(variables.AWS_S3_ENDPOINT_URL, `https://s3.${stack}.${privateDomain()}`, name);
      assert.equal(variables.AWS_S3_BUCKET_NAME, "plane-uploads", name);
      assert.equal(typeof variables.AWS_REGION, "string", name);
      assert.deepEqual(variables.AWS_ACCESS_KEY_ID, fromSecret("plane-object-storage", "accessKeyId"), name);
      assert.deepEqual(
        variables.AWS_SECRET_ACCESS_KEY,
        fromSecret("plane-object-storage", "secretAccessKey"),
        name,
      );
      assert.equal(variables.FILE_SIZE_LIMIT, String(5 * 1024 * 1024), name);
    }
    const buckets = env(manifest("Job", "plane-plane-buckets"));
    assert.equal(buckets.BUCKETS, "plane-uploads");
    assert.equal(buckets.CORS_ORIGINS, url());
    // Only the API and the worker reach the store (through the internal gateway).
    for (const name of ["api", "worker"]) {
      const own = output.policiesSelecting(stack, project, { "app.kubernetes.io/name": name });
      assert.ok(
        own.some((policy) => policy.metadata.name === `${name}-to-object-storage`),
        name,
      );
    }
    for (const name of ["beat-worker", "live", ...frontends, "valkey", "rabbitmq"]) {
      const own = output.policiesSelecting(stack, project, { "app.kubernetes.io/name": name });
      assert.equal(
        own.some((policy) => policy.metadata.name.endsWith("-to-object-storage")),
        false,
        name,
      );
      assert.equal(env(manifest("Deployment", name)).AWS_ACCESS_KEY_ID, undefined, name);
    }
  });

  it("lets into Valkey only the API, the worker and live, and into RabbitMQ only the API, the worker and beat", () => {
    const model = output.model(stack);
    const host = new Set(
      model.endpoints
        .filter((endpoint) => "reserved:host" in endpoint.labels)
        .map((endpoint) => endpoint.name),
    );
    const senders = (to: string, port: number) =>
      [
        ...new Set(
          openPaths(model, to)
            .filter((path) => path.port === port && !host.has(path.from))
            .map((path) => path.from),
        ),
      ].sort();
    assert.deepEqual(senders("plane/valkey", 6379), ["plane/api", "plane/live", "plane/worker"]);
    assert.deepEqual(senders("plane/rabbitmq", 5672), ["plane/api", "plane/beat-worker", "plane/worker"]);
    // Nothing else of Plane's, and nothing of another app, reaches either on any port.
    for (const from of [
      "plane/migrator",
      "plane/web",
      "plane/space",
      "plane/admin",
      "internal-gateway/traefik",
      "postgresql/postgresql",
    ]) {
      assert.equal(canReach(model, from, "plane/valkey", 6379), false, from);
      assert.equal(canReach(model, from, "plane/rabbitmq", 5672), false, from);
    }
    assert.equal(canReach(model, "plane/live", "plane/rabbitmq", 5672), false);
    assert.equal(canReach(model, "plane/beat-worker", "plane/valkey", 6379), false);
    // The live server is reached by the gateway, the API and the worker; it calls the API.
    assert.deepEqual(senders("plane/live", 3000), ["internal-gateway/traefik", "plane/api", "plane/worker"]);
    assert.ok(canReach(model, "plane/live", "plane/api", 8000));
  });

  it("runs Valkey as a password-protected cache that saves nothing, with no volume", () => {
    const valkey = manifest("Deployment", "valkey");
    const { args } = container(valkey);
    assert.deepEqual(args.slice(0, 5), [
      "valkey-server",
      "--requirepass",
      "$(VALKEY_PASSWORD)",
      "--save",
      "",
    ]);
    assert.ok(args.includes("--maxmemory"));
    assert.deepEqual(env(valkey), { VALKEY_PASSWORD: fromSecret("plane-valkey", "password") });
    assert.equal(
      podSpec(valkey).volumes.some((volume: Record<string, any>) => volume.persistentVolumeClaim),
      false,
    );
    assert.deepEqual(manifest("Secret", "plane-valkey").stringData, {
      password: "[secret]",
      url: "[secret]",
    });
  });

  it("keeps RabbitMQ's queues on a volume under a fixed node name, left out of the backups, which hold the database", () => {
    const rabbitmq = manifest("Deployment", "rabbitmq");
    const variables = env(rabbitmq);
    assert.equal(variables.RABBITMQ_NODENAME, "rabbit@localhost");
    assert.equal(variables.RABBITMQ_DEFAULT_USER, "plane");
    assert.equal(variables.RABBITMQ_DEFAULT_VHOST, "plane");
    assert.deepEqual(variables.RABBITMQ_DEFAULT_PASS, fromSecret("plane-rabbitmq", "password"));
    assert.deepEqual(container(rabbitmq).volumeMounts[0], {
      name: "pvc-rabbitmq",
      mountPath: "/var/lib/rabbitmq",
    });
    assert.equal(
      manifest("PersistentVolumeClaim", "rabbitmq").spec.resources.requests.storage,
      config()["plane:queueStorage"].size,
    );
    const backup = env(manifest("CronJob", "plane-backup"));
    assert.equal(backup.BACKUP_VOLUMES, undefined);
    assert.equal(backup.DB_DATABASES, "plane");
    assert.equal(rabbitmq.spec.strategy.type, "Recreate");
  });

  it("reaches nothing outside the cluster with the example's settings, and the configured hosts from the API and the worker only", async () => {
    const rendered = await withSettings({ egress: [{ hosts: ["smtp.example.com"], ports: [587] }] });
    assert.deepEqual(rendered.errors, []);
    for (const name of ["api", "worker"]) {
      assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", `${name}-egress`).spec.egress.slice(1), [
        {
          toFQDNs: [{ matchName: "smtp.example.com" }],
          toPorts: [{ ports: [{ port: "587", protocol: "TCP" }] }],
        },
      ]);
    }
    const policies = output
      .manifests(stack, project)
      .filter((object) => object.kind === "CiliumNetworkPolicy");
    assert.equal(
      policies.some((policy) => policy.metadata.name.endsWith("-egress")),
      false,
    );
  });

  it("passes the instance settings and the upload limit to Plane's first start", async () => {
    const rendered = await withSettings({
      uploadLimitMiB: 25,
      instance: { signup: true, workspaceCreation: false },
    });
    assert.deepEqual(rendered.errors, []);
    const variables = env(rendered.manifest("Deployment", "api"));
    assert.equal(variables.FILE_SIZE_LIMIT, String(25 * 1024 * 1024));
    assert.equal(variables.ENABLE_SIGNUP, "1");
    assert.equal(variables.DISABLE_WORKSPACE_CREATION, "1");
    const defaults = env(manifest("Deployment", "api"));
    assert.equal(defaults.ENABLE_SIGNUP, "0");
    assert.equal(defaults.DISABLE_WORKSPACE_CREATION, "0");
  });
});

describe("Plane's config", () => {
  it("defaults to invitations only, 5 MiB uploads, two worker processes and no egress", () => {
    const settings = planeConfig.parse({});
    assert.deepEqual(settings.instance, { signup: false, workspaceCreation: true });
    assert.equal(settings.uploadLimitMiB, 5);
    assert.equal(settings.workerConcurrency, 2);
    assert.deepEqual(settings.queueStorage, { size: "1Gi" });
    assert.deepEqual(settings.egress, []);
  });

  it("rejects unknown nested keys, bad sizes and out-of-range numbers", () => {
    for (const value of [
      { instance: { signups: true } },
      { queueStorage: { size: "1GB" } },
      { uploadLimitMiB: 0 },
      { workerConcurrency: 100 },
      { hostname: "Plane.Example.com" },
      { egress: [{ hosts: ["https://smtp.example.com"] }] },
    ]) {
      assert.equal(planeConfig.safeParse(value).success, false, JSON.stringify(value));
    }
  });
});
