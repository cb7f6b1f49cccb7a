import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { setConfig, wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach, egressPaths } from "@tools/synth/src/reachability";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests vaultwarden's own.
const project = "vaultwarden";
const stack = "cloud-a";
const { output, manifest, privateDomain } = exampleApp(project, stack);

/** Vaultwarden run again on cloud-a with settings (and secrets) added to its example config. */
const withSettings = (settings: Record<string, unknown>, secrets: Record<string, string> = {}) =>
  output.rerun(stack, project, setConfig(project, settings, secrets));

const smtp = {
  host: "smtp.example.com",
  port: 465,
  security: "force_tls",
  from: "vault@example.com",
  username: "vault",
};

describe("the vaultwarden app on the example stacks", () => {
  it("runs the pinned Alpine image as user 1000 on port 8080, with no capabilities", () => {
    const deployment = manifest("Deployment", project);
    assert.equal(container(deployment).image, images.vaultwarden);
    assert.match(images.vaultwarden, /^vaultwarden\/server:1\.\d+\.\d+-alpine$/);
    // apps.test.ts: every kit app's pods run as one non-root user, their containers with no capability.
    assert.equal(podSpec(deployment).securityContext.runAsUser, 1000);
    assert.equal(env(deployment).ROCKET_PORT, "8080");
    assert.deepEqual(container(deployment).ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
  });

  it("reserves a little CPU and memory for vaultwarden and caps its memory at 256 MiB, never its CPU", () => {
    assert.deepEqual(container(manifest("Deployment", project)).resources, {
      requests: { cpu: "10m", memory: "64Mi" },
      limits: { memory: "256Mi" },
    });
  });

  it("tells vaultwarden its URL, at vault.<private domain>, and its database, and keeps signups off", () => {
    const variables = env(manifest("Deployment", project));
    assert.equal(privateDomain(), "internal.example.com");
    assert.equal(variables.DOMAIN, "https://vault.internal.example.com");
    assert.deepEqual(variables.DATABASE_URL, fromSecret("vaultwarden-database", "url"));
    assert.equal(variables.SIGNUPS_ALLOWED, "false");
  });

  it("exposes it to the tailnet only, at vault.<private domain>, recorded for the private DNS, with the server's wildcard certificate", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const { rules, ...exposure } = output.exposure(stack, project, project);
    assert.deepEqual(exposure, {
      hostnames: [`vault.${privateDomain()}`],
      gatewayClass: gateway.gatewayClass,
      certificateRefs: [wildcardCertificateRef],
      record: undefined,
      privateAddress: gateway.clusterIp,
    });
    assert.deepEqual(rules[0]?.backendRefs, [{ group: "", kind: "Service", name: project, port: 8080 }]);
    // Nothing names it outside the tailnet: no Cloudflare record, no certificate in the CT logs.
    assert.deepEqual(
      output.resources(stack, project).filter((each) => /DnsRecord|Certificate$/.test(each.type)),
      [],
    );
    const grant = output.manifest(stack, project, "ReferenceGrant", project);
    assert.equal(grant.metadata.namespace, wildcardCertificateRef.namespace);
    assert.deepEqual(grant.spec, {
      from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: project }],
      to: [{ group: "", kind: "Secret", name: wildcardCertificateRef.name }],
    });
  });

  it("protects the admin page with the argon2id hash of the app's stable token, never the token itself", () => {
    const variables = env(manifest("Deployment", project));
    assert.deepEqual(variables.ADMIN_TOKEN, fromSecret("vaultwarden-stable", "adminTokenHash"));
    assert.deepEqual(Object.keys(manifest("Secret", "vaultwarden-stable").stringData).sort(), [
      "adminToken",
      "adminTokenHash",
    ]);
    assert.equal(output.outputs(stack, project).adminToken, "[secret]");
  });

  it("probes /alive, which also checks the database, giving the first start time to migrate", () => {
    const main = container(manifest("Deployment", project));
    for (const probe of [main.readinessProbe, main.livenessProbe, main.startupProbe]) {
      assert.deepEqual(probe.httpGet, { path: "/alive", port: 8080 });
    }
    assert.ok(main.startupProbe.periodSeconds * main.startupProbe.failureThreshold >= 300);
  });

  it("backs /data up with its database, leaving out the icon cache", () => {
    const backup = env(manifest("CronJob", "vaultwarden-backup"));
    assert.equal(backup.BACKUP_VOLUMES, "data");
    assert.equal(backup.BACKUP_EXCLUDE, "data/icon_cache");
    assert.equal(backup.DB_DATABASES, "vaultwarden");
    const mounts = container(manifest("Deployment", project)).volumeMounts;
    assert.deepEqual(mounts, [{ name: "pvc-data", mountPath: "/data" }]);
  });

  it("fetches no icons and reaches nothing outside the cluster with the example's settings", () => {
    const variables = env(manifest("Deployment", project));
    assert.equal(variables.DISABLE_ICON_DOWNLOAD, "true");
    const model = output.model(stack);
    const world = egressPaths(model, "vaultwarden/vaultwarden").filter((path) => path.to.startsWith("world"));
    assert.deepEqual(world, []);
    assert.ok(canReach(model, "vaultwarden/vaultwarden", "postgresql/postgresql", 5432));
  });

  it("sends mail through the configured SMTP server, with the password from a secret, and may reach it only", async () => {
    const rendered = await withSettings({ smtp }, { smtpPassword: "smtp password" });
    assert.deepEqual(rendered.errors, []);
    const variables = env(rendered.manifest("Deployment", project));
    assert.deepEqual(
      [
        variables.SMTP_HOST,
        variables.SMTP_PORT,
        variables.SMTP_SECURITY,
        variables.SMTP_FROM,
        variables.SMTP_USERNAME,
      ],
      ["smtp.example.com", "465", "force_tls", "vault@example.com", "vault"],
    );
    assert.deepEqual(variables.SMTP_PASSWORD, fromSecret("vaultwarden-credentials", "SMTP_PASSWORD"));
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "vaultwarden-egress").spec.egress.slice(1), [
      {
        toFQDNs: [{ matchName: "smtp.example.com" }],
        toPorts: [{ ports: [{ port: "465", protocol: "TCP" }] }],
      },
    ]);
  });

  it("refuses an SMTP login without its password secret, naming the key to set", async () => {
    const rendered = await withSettings({ smtp });
    assert.match(rendered.errors.join("\n"), /the secret "vaultwarden:smtpPassword" must be set/);
  });

  it("pushes to mobile apps through the relay of the installation's region, and may reach it only", async () => {
    const rendered = await withSettings(
      { push: { installationId: "0f8fad5b-d9cb-469f-a165-70867728950e", region: "eu" } },
      { pushInstallationKey: "push key" },
    );
    assert.deepEqual(rendered.errors, []);
    const variables = env(rendered.manifest("Deployment", project));
    assert.deepEqual(
      [variables.PUSH_ENABLED, variables.PUSH_RELAY_URI, variables.PUSH_IDENTITY_URI],
      ["true", "https://api.bitwarden.eu", "https://identity.bitwarden.eu"],
    );
    assert.deepEqual(
      variables.PUSH_INSTALLATION_KEY,
      fromSecret("vaultwarden-credentials", "PUSH_INSTALLATION_KEY"),
    );
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "vaultwarden-egress").spec.egress.slice(1), [
      {
        toFQDNs: [{ matchName: "api.bitwarden.eu" }, { matchName: "identity.bitwarden.eu" }],
        toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }],
      },
    ]);
  });

  it("downloads icons itself only when told to, and then may reach any web server", async () => {
    const rendered = await withSettings({ icons: "internal" });
    assert.equal(env(rendered.manifest("Deployment", project)).DISABLE_ICON_DOWNLOAD, undefined);
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "vaultwarden-egress").spec.egress, [
      {
        toCIDRSet: [{ cidr: "0.0.0.0/0" }],
        toPorts: [
          {
            ports: [
              { port: "80", protocol: "TCP" },
              { port: "443", protocol: "TCP" },
            ],
          },
        ],
      },
    ]);
    // Redirecting clients to an icon service needs no egress at all.
    const redirected = await withSettings({ icons: "duckduckgo" });
    assert.equal(env(redirected.manifest("Deployment", project)).ICON_SERVICE, "duckduckgo");
    assert.equal(
      redirected.manifests.some((object) => object.metadata?.name === "vaultwarden-egress"),
      false,
    );
  });

  it("fails on a misspelled key of its config instead of quietly ignoring it", async () => {
    const rendered = await withSettings({ sigupsAllowed: true });
    assert.match(
      rendered.errors.join("\n"),
      /vaultwarden:sigupsAllowed is not a setting; did you mean vaultwarden:signupsAllowed\?/,
    );
  });
});
