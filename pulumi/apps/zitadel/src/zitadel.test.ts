import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { setConfig } from "@tools/synth/src/e2e/example-stacks";
import { canReach, egressPaths } from "@tools/synth/src/reachability";
import { zitadelConfig } from "./config";
import { secrets } from "./secrets";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests Zitadel's own.
const project = "zitadel";
const stack = "cloud-a";
const { output, manifest, resource, domain } = exampleApp(project, stack);

/** Zitadel run again on cloud-a with settings added to its example config. */
const withSettings = (settings: Record<string, unknown>) =>
  output.rerun(stack, project, setConfig(project, settings));

const job = "kubernetes:batch/v1:Job";
const deployment = "kubernetes:apps/v1:Deployment";
const hostname = () => `auth.${domain()}`;
const dependsOn = (dependent: [string, string], dependency: [string, string]) =>
  resource(...dependent).dependsOn.includes(resource(...dependency).urn);

describe("the Zitadel app on the example stacks", () => {
  it("runs the pinned Zitadel 4 and login images as user 1000 on read-only root filesystems", () => {
    assert.match(images.zitadel, /^ghcr\.io\/zitadel\/zitadel:v4\.\d+\.\d+$/);
    // The login UI is released with Zitadel, under the same tag.
    assert.equal(images.zitadelLogin, `ghcr.io/zitadel/zitadel-login:${images.zitadel.split(":")[1]}`);
    for (const [kind, name, image] of [
      ["Job", "zitadel-init", images.zitadel],
      ["Job", "zitadel-setup", images.zitadel],
      ["Deployment", "zitadel", images.zitadel],
      ["Deployment", "zitadel-login", images.zitadelLogin],
    ] as const) {
      const object = manifest(kind, name);
      assert.equal(container(object).image, image, name);
      assert.equal(podSpec(object).securityContext.runAsUser, 1000, name);
      assert.equal(container(object).securityContext.readOnlyRootFilesystem, true, name);
    }
  });

  it("initializes the database as the app's own user, then sets it up, and starts the server and the login UI after both", () => {
    assert.deepEqual(container(manifest("Job", "zitadel-init")).args, ["init", "zitadel"]);
    assert.deepEqual(container(manifest("Job", "zitadel-setup")).args, [
      "setup",
      "--masterkeyFromEnv",
      "--init-projections=true",
    ]);
    const init = env(manifest("Job", "zitadel-init"));
    assert.deepEqual(
      init.ZITADEL_DATABASE_POSTGRES_USER_USERNAME,
      fromSecret("zitadel-database", "username"),
    );
    assert.deepEqual(
      init.ZITADEL_DATABASE_POSTGRES_USER_PASSWORD,
      fromSecret("zitadel-database", "password"),
    );
    // No step is given the server's superuser: the kit created the database and its owner.
    for (const name of ["zitadel-init", "zitadel-setup"]) {
      const variables = Object.keys(env(manifest("Job", name)));
      assert.deepEqual(
        variables.filter((variable) => variable.startsWith("ZITADEL_DATABASE_POSTGRES_ADMIN")),
        [],
        name,
      );
    }
    assert.ok(dependsOn([job, "zitadel/zitadel-init"], [job, "postgresql/zitadel-zitadel-database"]));
    assert.ok(dependsOn([job, "zitadel/zitadel-init"], [job, "zitadel/zitadel-restore"]));
    assert.ok(dependsOn([job, "zitadel/zitadel-setup"], [job, "zitadel/zitadel-init"]));
    for (const name of ["zitadel/zitadel", "zitadel/zitadel-login"]) {
      assert.ok(dependsOn([deployment, name], [job, "zitadel/zitadel-setup"]), name);
    }
  });

  it("gives the server and the setup the app's stable masterkey of exactly 32 characters, and the login UI no secret of Zitadel's", () => {
    assert.deepEqual(secrets.masterkey, { kind: "string", length: 32, alphabet: "alphanumeric" });
    for (const [kind, name] of [
      ["Job", "zitadel-setup"],
      ["Deployment", "zitadel"],
    ] as const) {
      assert.deepEqual(
        env(manifest(kind, name)).ZITADEL_MASTERKEY,
        fromSecret("zitadel-stable", "masterkey"),
      );
    }
    assert.deepEqual(Object.keys(manifest("Secret", "zitadel-stable").stringData).sort(), [
      "adminPassword",
      "masterkey",
    ]);
    const login = env(manifest("Deployment", "zitadel-login"));
    assert.deepEqual(
      Object.values(login).filter((value) => typeof value === "object"),
      [],
    );
  });

  it("tells Zitadel its public name on 443 over HTTPS, with TLS ending at the gateway", () => {
    const variables = env(manifest("Deployment", "zitadel"));
    assert.deepEqual(
      [
        variables.ZITADEL_EXTERNALDOMAIN,
        variables.ZITADEL_EXTERNALPORT,
        variables.ZITADEL_EXTERNALSECURE,
        variables.ZITADEL_TLS_ENABLED,
      ],
      [hostname(), "443", "true", "false"],
    );
    assert.deepEqual(container(manifest("Deployment", "zitadel")).args, ["start", "--masterkeyFromEnv"]);
    assert.deepEqual(env(manifest("Job", "zitadel-setup")).ZITADEL_EXTERNALDOMAIN, hostname());
  });

  it("speaks h2c behind Traefik: its Service port is marked kubernetes.io/h2c, which Traefik's Gateway API provider reads", () => {
    assert.deepEqual(manifest("Service", "zitadel").spec.ports, [
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
    ]);
    // The login UI is HTTP/1.1.
    assert.equal(manifest("Service", "zitadel-login").spec.ports[0].appProtocol, undefined);
  });

  it("serves the login UI under /ui/v2/login of Zitadel's own public hostname, everything else from Zitadel", () => {
    const gateway = output.outputs(stack, "public-gateway");
    const exposure = output.exposure(stack, project, project);
    assert.deepEqual(exposure.hostnames, [hostname()]);
    assert.deepEqual(
      exposure.rules.map((rule) => [
        rule.matches.map((match: Record<string, any>) => match.path.value),
        rule.backendRefs.map((ref: Record<string, any>) => `${ref.name}:${ref.port}`),
      ]),
      [
        [["/"], ["zitadel:8080"]],
        [["/ui/v2/login"], ["zitadel-login:3000"]],
      ],
    );
    assert.equal(exposure.gatewayClass, gateway.gatewayClass);
    assert.deepEqual(exposure.record, {
      name: hostname(),
      type: "A",
      content: gateway.publicIp,
      proxied: true,
    });
    // A public name: a certificate of its own, and nothing for the tailnet's private DNS.
    assert.deepEqual(exposure.certificateRefs, [{ group: "", kind: "Secret", name: "zitadel-tls" }]);
    assert.deepEqual(manifest("Certificate", project).spec.dnsNames, [hostname()]);
    assert.deepEqual(output.privateNames(stack, project), []);
    const login = env(manifest("Deployment", "zitadel-login"));
    assert.equal(login.NEXT_PUBLIC_BASE_PATH, "/ui/v2/login");
    const server = env(manifest("Deployment", "zitadel"));
    assert.equal(server.ZITADEL_DEFAULTINSTANCE_FEATURES_LOGINV2_REQUIRED, "true");
    assert.equal(
      server.ZITADEL_OIDC_DEFAULTLOGINURLV2,
      `https://${hostname()}/ui/v2/login/login?authRequest=`,
    );
  });

  it("has the login UI call Zitadel's Service as the public hostname, with the token the setup wrote to the app's volume", () => {
    const login = manifest("Deployment", "zitadel-login");
    const variables = env(login);
    assert.equal(variables.ZITADEL_API_URL, "http://zitadel:8080");
    // Zitadel finds its instance by the Host header ("Instance not found" otherwise).
    assert.equal(variables.CUSTOM_REQUEST_HEADERS, `Host:${hostname()}`);
    assert.equal(variables.ZITADEL_SERVICE_USER_TOKEN_FILE, "/login-client/pat");
    assert.deepEqual(container(login).volumeMounts, [
      { name: "pvc-login-client", mountPath: "/login-client", readOnly: true },
    ]);
    const setup = manifest("Job", "zitadel-setup");
    assert.equal(env(setup).ZITADEL_FIRSTINSTANCE_LOGINCLIENTPATPATH, "/login-client/pat");
    assert.deepEqual(container(setup).volumeMounts, [
      { name: "pvc-login-client", mountPath: "/login-client" },
    ]);
    // The token is part of the app's data: a restored database does not write it again.
    assert.equal(env(manifest("CronJob", "zitadel-backup")).BACKUP_VOLUMES, "login-client");
    const model = output.model(stack);
    assert.ok(canReach(model, "zitadel/zitadel-login", "zitadel/zitadel", 8080));
    assert.equal(canReach(model, "zitadel/zitadel-login", "postgresql/postgresql", 5432), false);
  });

  it("creates the first admin with the app's generated password, which the first login replaces, and exports it as a secret", () => {
    const setup = env(manifest("Job", "zitadel-setup"));
    assert.equal(setup.ZITADEL_FIRSTINSTANCE_ORG_NAME, "zitadel");
    assert.equal(setup.ZITADEL_FIRSTINSTANCE_ORG_HUMAN_USERNAME, "zitadel-admin");
    assert.deepEqual(
      setup.ZITADEL_FIRSTINSTANCE_ORG_HUMAN_PASSWORD,
      fromSecret("zitadel-first-admin", "password"),
    );
    assert.equal(setup.ZITADEL_FIRSTINSTANCE_ORG_HUMAN_PASSWORDCHANGEREQUIRED, "true");
    assert.deepEqual(manifest("Secret", "zitadel-first-admin").stringData, { password: "[secret]" });
    const outputs = output.outputs(stack, project);
    assert.equal(outputs.adminPassword, "[secret]");
    assert.equal(outputs.adminLoginName, `zitadel-admin@zitadel.${hostname()}`);
    assert.equal(outputs.url, `https://${hostname()}`);
  });

  it("gives the first admin a password Zitadel's default policy accepts: a symbol, both cases and a digit", async () => {
    const rendered = await output.rerun(stack, project, () => {});
    const password = rendered.manifest("Secret", "zitadel-first-admin").stringData.password as string;
    assert.match(password, /^[A-Za-z0-9_-]{32,}!Aa1$/);
  });

  it("probes Zitadel's health and readiness endpoints and the login UI's", () => {
    const server = container(manifest("Deployment", "zitadel"));
    assert.deepEqual(server.livenessProbe.httpGet, { path: "/debug/healthz", port: 8080 });
    assert.deepEqual(server.readinessProbe.httpGet, { path: "/debug/ready", port: 8080 });
    assert.deepEqual(server.startupProbe.httpGet, { path: "/debug/ready", port: 8080 });
    const login = container(manifest("Deployment", "zitadel-login"));
    assert.deepEqual(login.readinessProbe.httpGet, { path: "/ui/v2/login/healthy", port: 3000 });
  });

  it("reaches nothing outside the cluster with the example's settings, and exactly the configured hosts when told", async () => {
    const model = output.model(stack);
    const world = egressPaths(model, "zitadel/zitadel").filter((path) => path.to.startsWith("world"));
    assert.deepEqual(world, []);
    const rendered = await withSettings({ egress: [{ hosts: ["smtp.example.com"], ports: [587] }] });
    assert.deepEqual(rendered.errors, []);
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "zitadel-egress").spec.egress.slice(1), [
      {
        toFQDNs: [{ matchName: "smtp.example.com" }],
        toPorts: [{ ports: [{ port: "587", protocol: "TCP" }] }],
      },
    ]);
  });
});

describe("Zitadel's config", () => {
  it("names the first organization and admin as Zitadel does, and refuses an organization that is no DNS label", () => {
    const settings = zitadelConfig.parse({});
    assert.deepEqual(settings.firstInstance, { organization: "zitadel", adminUsername: "zitadel-admin" });
    assert.deepEqual(settings.egress, []);
    for (const value of [
      { firstInstance: { organization: "My Org" } },
      { firstInstance: { adminUsername: "Admin User" } },
      { firstInstance: { adminEmail: "not-an-address" } },
      { firstInstance: { orgName: "x" } },
    ]) {
      assert.equal(zitadelConfig.safeParse(value).success, false, JSON.stringify(value));
    }
  });
});
