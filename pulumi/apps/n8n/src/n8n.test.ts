import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { setConfig, wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach } from "@tools/synth/src/reachability";
import { n8nConfig } from "./config";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests n8n's own.
const project = "n8n";
const stack = "local-a";
const port = 5678;
const { output, manifest, config, domain, privateDomain } = exampleApp(project, stack);

/** n8n run again on local-a with these settings in place of its example config's. */
const withSettings = (settings: Record<string, unknown>) =>
  output.rerun(stack, project, setConfig(project, settings));

describe("the n8n app on the example stacks", () => {
  it("runs the pinned n8n 2 image as its user node (1000), never as root, with no capabilities", () => {
    const deployment = manifest("Deployment", project);
    assert.equal(container(deployment).image, images.n8n);
    assert.match(images.n8n, /^docker\.n8n\.io\/n8nio\/n8n:2\.\d+\.\d+$/);
    // apps.test.ts: every kit app's pods run as one non-root user, their containers with no capability.
    assert.equal(podSpec(deployment).securityContext.runAsUser, 1000);
    assert.equal(podSpec(deployment).automountServiceAccountToken, false);
  });

  it("caps n8n's memory at 1 GiB and its runners' at 512 MiB, so a runaway workflow restarts them rather than starve the node", () => {
    const deployment = manifest("Deployment", project);
    assert.deepEqual(container(deployment).resources, {
      requests: { cpu: "50m", memory: "256Mi" },
      limits: { memory: "1Gi" },
    });
    assert.deepEqual(container(deployment, "task-runners").resources, {
      requests: { cpu: "10m", memory: "64Mi" },
      limits: { memory: "512Mi" },
    });
  });

  it("gives n8n the app's own PostgreSQL database, every setting read from the database Secret", () => {
    const variables = env(manifest("Deployment", project), project);
    assert.equal(variables.DB_TYPE, "postgresdb");
    const keys = { HOST: "host", PORT: "port", DATABASE: "database", USER: "username", PASSWORD: "password" };
    for (const [name, key] of Object.entries(keys)) {
      assert.deepEqual(variables[`DB_POSTGRESDB_${name}`], fromSecret("n8n-database", key), name);
    }
  });

  it("sets the credentials' encryption key from the app's stable Secret, so n8n never generates its own", () => {
    const variables = env(manifest("Deployment", project), project);
    assert.deepEqual(variables.N8N_ENCRYPTION_KEY, fromSecret("n8n-stable", "encryptionKey"));
    assert.deepEqual(manifest("Secret", "n8n-stable").stringData, { encryptionKey: "[secret]" });
  });

  it("tells n8n its editor is at n8n.<private domain> and its webhooks at the public hostname n8n-hooks.<domain>, behind two forwarding proxies", () => {
    const variables = env(manifest("Deployment", project), project);
    const editor = `n8n.${privateDomain()}`;
    const hooks = `n8n-hooks.${domain()}`;
    assert.equal(config()["n8n:hostname"], undefined);
    assert.equal(config()["n8n:publicWebhooks"].hostname, undefined);
    assert.deepEqual(
      {
        N8N_HOST: variables.N8N_HOST,
        N8N_PORT: variables.N8N_PORT,
        N8N_PROTOCOL: variables.N8N_PROTOCOL,
        N8N_EDITOR_BASE_URL: variables.N8N_EDITOR_BASE_URL,
        WEBHOOK_URL: variables.WEBHOOK_URL,
        N8N_PROXY_HOPS: variables.N8N_PROXY_HOPS,
      },
      {
        N8N_HOST: editor,
        N8N_PORT: String(port),
        N8N_PROTOCOL: "https",
        N8N_EDITOR_BASE_URL: `https://${editor}/`,
        WEBHOOK_URL: `https://${hooks}/`,
        // Cloudflare, then Traefik, forward the public requests.
        N8N_PROXY_HOPS: "2",
      },
    );
    assert.equal(variables.GENERIC_TIMEZONE, config()["n8n:timezone"]);
    assert.deepEqual(output.outputs(stack, project).url, `https://${editor}`);
    assert.deepEqual(output.outputs(stack, project).webhookUrl, `https://${hooks}/`);
  });

  it("runs Code nodes in a runners sidecar of n8n's version that holds only the broker's loopback address and its token", () => {
    const deployment = manifest("Deployment", project);
    const main = env(deployment, project);
    assert.equal(main.N8N_RUNNERS_MODE, "external");
    // The broker keeps its default loopback address: only containers of the pod reach it.
    assert.equal(main.N8N_RUNNERS_BROKER_LISTEN_ADDRESS, undefined);
    const token = fromSecret("n8n-task-runners", "authToken");
    assert.deepEqual(main.N8N_RUNNERS_AUTH_TOKEN, token);

    const runners = container(deployment, "task-runners");
    assert.equal(runners.image, images.n8nRunners);
    assert.equal(images.n8nRunners, `n8nio/runners:${images.n8n.split(":")[1]}-distroless`);
    assert.deepEqual(env(deployment, "task-runners"), {
      N8N_RUNNERS_AUTH_TOKEN: token,
      N8N_RUNNERS_TASK_BROKER_URI: "http://127.0.0.1:5679",
      GENERIC_TIMEZONE: main.GENERIC_TIMEZONE,
    });
    assert.deepEqual(runners.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsGroup: 65532,
      runAsUser: 65532,
    });
    // A scratch /tmp, and neither n8n's volume nor any Secret mounted.
    assert.deepEqual(runners.volumeMounts, [{ mountPath: "/tmp", name: "runners-tmp" }]);
    assert.deepEqual(runners.livenessProbe, { httpGet: { path: "/healthz", port: 5680 }, periodSeconds: 30 });
    assert.deepEqual(manifest("Secret", "n8n-task-runners").stringData, { authToken: "[secret]" });
    assert.equal(podSpec(deployment).terminationGracePeriodSeconds, 60);
  });

  it("turns off everything that phones home: telemetry, version checks, templates, personalization and banners", () => {
    const variables = env(manifest("Deployment", project), project);
    for (const name of [
      "N8N_DIAGNOSTICS_ENABLED",
      "N8N_VERSION_NOTIFICATIONS_ENABLED",
      "N8N_TEMPLATES_ENABLED",
      "N8N_PERSONALIZATION_ENABLED",
      "N8N_DYNAMIC_BANNERS_ENABLED",
    ]) {
      assert.equal(variables[name], "false", name);
    }
  });

  it("probes /healthz for liveness and /healthz/readiness (database connected and migrated) for start-up and readiness", () => {
    const n8n = container(manifest("Deployment", project));
    assert.deepEqual(n8n.livenessProbe, {
      httpGet: { path: "/healthz", port },
      periodSeconds: 30,
      failureThreshold: 5,
    });
    assert.deepEqual(n8n.readinessProbe, {
      httpGet: { path: "/healthz/readiness", port },
      periodSeconds: 10,
    });
    assert.deepEqual(n8n.startupProbe, {
      httpGet: { path: "/healthz/readiness", port },
      periodSeconds: 5,
      failureThreshold: 120,
    });
    assert.deepEqual(n8n.ports, [{ name: "http", containerPort: port, protocol: "TCP" }]);
  });

  it("keeps /home/node/.n8n on its volume and execution files in the database, backing both up in one repository", () => {
    const deployment = manifest("Deployment", project);
    assert.deepEqual(container(deployment).volumeMounts, [
      { mountPath: "/home/node/.n8n", name: "pvc-data" },
    ]);
    assert.equal(env(deployment, project).N8N_DEFAULT_BINARY_DATA_MODE, "database");
    assert.equal(
      manifest("PersistentVolumeClaim", "data").spec.resources.requests.storage,
      config()["n8n:storage"].size,
    );
    // apps.test.ts: the final backup and the restore hold what the backup holds, in the app's one
    // repository, with its database dump made with its credentials.
    const backup = env(manifest("CronJob", "n8n-backup"));
    assert.deepEqual([backup.BACKUP_VOLUMES, backup.BACKUP_EXCLUDE], ["data", undefined]);
  });

  it("exposes the editor to the tailnet only, at n8n.<private domain>: every path, the internal gateway's class, the server's wildcard certificate, recorded for the private DNS and never published", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const hostname = `n8n.${privateDomain()}`;
    assert.deepEqual(output.exposure(stack, project, project), {
      hostnames: [hostname],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: [{ group: "", kind: "Service", name: project, port }],
        },
      ],
      gatewayClass: gateway.gatewayClass,
      certificateRefs: [wildcardCertificateRef],
      record: undefined,
      privateAddress: gateway.clusterIp,
    });
  });

  it("exposes only the production webhook and form paths to the internet, at n8n-hooks.<domain>, through Cloudflare", () => {
    assert.equal(config()["n8n:publicWebhooks"].enabled, true);
    const gateway = output.outputs(stack, "public-gateway");
    const hostname = `n8n-hooks.${domain()}`;
    assert.deepEqual(output.exposure(stack, project, "n8n-webhooks"), {
      hostnames: [hostname],
      rules: [
        {
          matches: ["/webhook", "/webhook-waiting", "/form", "/form-waiting"].map((value) => ({
            path: { type: "PathPrefix", value },
          })),
          // The public gateway's HSTS, on every answer of a public route.
          filters: [
            {
              type: "ResponseHeaderModifier",
              responseHeaderModifier: {
                set: [{ name: "Strict-Transport-Security", value: gateway.strictTransportSecurity }],
              },
            },
          ],
          backendRefs: [{ group: "", kind: "Service", name: project, port }],
        },
      ],
      gatewayClass: gateway.gatewayClass,
      certificateRefs: [{ group: "", kind: "Secret", name: "n8n-webhooks-tls" }],
      record: { name: hostname, type: "A", content: gateway.publicIp, proxied: true },
      privateAddress: undefined,
    });
    assert.deepEqual(manifest("Certificate", "n8n-webhooks").spec.dnsNames, [hostname]);
  });

  // apps.test.ts: only gateways, the router and the node reach it; it reaches only DNS and its database.
  it("lets in only the two gateways' Traefik, and lets it out only to PostgreSQL: nothing to or from the world", () => {
    const model = output.model(stack);
    const server = `${project}/${project}`;
    assert.ok(canReach(model, "internal-gateway/traefik", server, port));
    assert.ok(canReach(model, "public-gateway/traefik", server, port));
    assert.equal(canReach(model, "tailnet", server, port), false);
    // The runners' broker and launcher stay inside the pod.
    assert.equal(canReach(model, "internal-gateway/traefik", server, 5679), false);
    assert.equal(canReach(model, "internal-gateway/traefik", server, 5680), false);
    assert.equal(canReach(model, server, "world:api.github.com", 443), false);
    const own = output.policiesSelecting(stack, project, { "app.kubernetes.io/name": project });
    assert.deepEqual(own.map((policy) => policy.metadata.name).sort(), [
      "n8n-from-internal-gateway",
      "n8n-to-postgresql",
      "n8n-webhooks-from-public-gateway",
    ]);
  });
});

describe("n8n's config", () => {
  it("keeps webhooks private and nothing outside reachable unless the stack says otherwise", () => {
    const settings = n8nConfig.parse({});
    assert.deepEqual(settings.publicWebhooks, { enabled: false, testPaths: false });
    assert.deepEqual(settings.egress, []);
    assert.equal(settings.timezone, "UTC");
    assert.deepEqual(settings.storage, { size: "1Gi" });
  });

  it("rejects unknown nested keys, malformed hosts and unknown time zones", () => {
    for (const value of [
      { publicWebhooks: { enable: true } },
      { egress: [{ hosts: ["api.github.com"], port: [443] }] },
      { egress: [{ hosts: ["https://api.github.com"] }] },
      { egress: [{ hosts: [] }] },
      { timezone: "Mars/Olympus_Mons" },
    ]) {
      assert.equal(n8nConfig.safeParse(value).success, false, JSON.stringify(value));
    }
  });

  it("lets workflows reach exactly the configured hosts, on their ports, and turns test paths on only when asked", async () => {
    const rendered = await withSettings({
      publicWebhooks: { enabled: true, testPaths: true },
      egress: [{ hosts: ["api.github.com", "*.slack.com"] }, { hosts: ["192.0.2.0/24"], ports: [8443] }],
    });
    assert.deepEqual(rendered.errors, []);
    const egress = rendered.manifest("CiliumNetworkPolicy", "n8n-egress");
    assert.deepEqual(egress.spec.endpointSelector, { matchLabels: { "app.kubernetes.io/name": project } });
    const tcp = (number: number) => [{ ports: [{ port: String(number), protocol: "TCP" }] }];
    assert.deepEqual(egress.spec.egress.slice(1), [
      { toFQDNs: [{ matchName: "api.github.com" }], toPorts: tcp(443) },
      { toFQDNs: [{ matchPattern: "*.slack.com" }], toPorts: tcp(443) },
      { toCIDRSet: [{ cidr: "192.0.2.0/24" }], toPorts: tcp(8443) },
    ]);
    // First, the lookups of those names go through Cilium's DNS proxy, which learns their addresses.
    assert.ok(egress.spec.egress[0].toPorts[0].rules.dns);
    const route = rendered.manifest("HTTPRoute", "n8n-webhooks");
    assert.deepEqual(
      route.spec.rules[0].matches.map((match: Record<string, any>) => match.path.value),
      ["/webhook", "/webhook-waiting", "/form", "/form-waiting", "/webhook-test", "/form-test"],
    );
  });

  it("refuses the editor's private name as the public webhooks' hostname: nothing of the private domain is published", async () => {
    const rendered = await withSettings({
      hostname: `n8n.${privateDomain()}`,
      publicWebhooks: { enabled: true, hostname: `n8n.${privateDomain()}` },
    });
    assert.ok(
      rendered.errors.some((error) =>
        error.includes(`lies in the private domain ${privateDomain()}, which is never published`),
      ),
      rendered.errors.join("\n"),
    );
  });

  it("refuses an editor name outside the private domain, which the wildcard certificate does not cover", async () => {
    const rendered = await withSettings({ hostname: `n8n.${domain()}` });
    assert.ok(
      rendered.errors.some((error) => error.includes("is not a private name of this site")),
      rendered.errors.join("\n"),
    );
  });
});
