import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { generateAppSecrets, randomBytes } from "@infra/app-secrets";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { setConfig, wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach, egressPaths } from "@tools/synth/src/reachability";
import { parse } from "yaml";
import { enteConfig } from "./config";
import { credentialsYaml, enteScriptsDir, hotStorage, paddedBase64url, webApps } from "./ente";
import { secrets } from "./secrets";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests Ente's own.
const project = "ente";
const stack = "cloud-a";
const { output, manifest, resource, privateDomain } = exampleApp(project, stack);

/** Ente run again on cloud-a with settings added to its example config (and secrets, if any). */
const withSettings = (settings: Record<string, unknown>, secretValues: Record<string, string> = {}) =>
  output.rerun(stack, project, setConfig(project, settings, secretValues));
/** Ente run again with its example config: what it renders, secrets included. */
const rendered = () => output.rerun(stack, project, () => {});

const deployment = "kubernetes:apps/v1:Deployment";
const job = "kubernetes:batch/v1:Job";
/** Whether a Deployment of the app waits for a Job (`<namespace>/<name>`) it created. */
const dependsOn = (workload: string, dependency: string) =>
  resource(deployment, workload).dependsOn.includes(resource(job, dependency).urn);
const webAppNames = Object.keys(webApps) as (keyof typeof webApps)[];
const hostnames = () => ({
  api: `ente-api.${privateDomain()}`,
  photos: `photos.${privateDomain()}`,
  accounts: `ente-accounts.${privateDomain()}`,
  albums: `ente-albums.${privateDomain()}`,
  auth: `ente-auth.${privateDomain()}`,
  cast: `ente-cast.${privateDomain()}`,
});
/** A museum.yaml of the ConfigMap: `museum.yaml`, or with the registration gate `museum-open.yaml`/`museum-closed.yaml`. */
const museumYamlOf = (configMap: Record<string, any>, file = "museum-open.yaml") =>
  parse(configMap.data[file] ?? configMap.data["museum.yaml"], { intAsBigInt: true });
const credentialsOf = (secret: Record<string, any>) => parse(secret.stringData["credentials.yaml"]);
/** The object store of the server: its endpoint and region, as the object-storage project exports them. */
const store = () => output.outputs(stack, "object-storage").server as { endpoint: string; region: string };

/** Strict base64 of exactly `bytes` bytes, as Go's padded decoders accept it. */
const base64Of = (bytes: number, alphabet: "std" | "url") => {
  const chars = alphabet === "std" ? "A-Za-z0-9+/" : "A-Za-z0-9_-";
  const full = Math.floor(bytes / 3) * 4;
  const rest = bytes % 3;
  const tail = rest === 0 ? "" : `[${chars}]{${rest + 1}}${"=".repeat(3 - rest)}`;
  return new RegExp(`^[${chars}]{${full}}${tail}$`);
};

describe("the Ente app on the example stacks", () => {
  it("runs museum and the web apps from images pinned by digest, as user 1000 on read-only root filesystems", () => {
    assert.match(images.enteMuseum, /^ghcr\.io\/ente-io\/server@sha256:[0-9a-f]{64}$/);
    assert.match(images.enteWeb, /^ghcr\.io\/ente-io\/web@sha256:[0-9a-f]{64}$/);
    for (const [name, image] of [
      ["museum", images.enteMuseum],
      ...webAppNames.map((app) => [app, images.enteWeb] as const),
    ] as const) {
      const object = manifest("Deployment", name);
      assert.equal(container(object).image, image, name);
      assert.equal(podSpec(object).securityContext.runAsUser, 1000, name);
      for (const each of [...podSpec(object).containers, ...(podSpec(object).initContainers ?? [])]) {
        assert.equal(each.securityContext.readOnlyRootFilesystem, true, `${name}/${each.name}`);
      }
    }
  });

  it("gives museum its settings in museum.yaml (a ConfigMap, so a change rolls it out) and its secrets in credentials.yaml, linked where it reads them, with its own files", () => {
    const museum = manifest("Deployment", "museum");
    assert.deepEqual(
      container(museum).volumeMounts.map((mount: Record<string, unknown>) => mount.mountPath),
      ["/etc/museum", "/etc/museum-credentials", "/run/museum", "/gate", "/tmp"],
    );
    const start = container(museum).command;
    assert.deepEqual(start.slice(0, 2), ["/bin/sh", "-c"]);
    // Its working directory holds the image's own files (at /) and the two files, then museum runs.
    for (const line of [
      "cd /run/museum",
      "for dir in configurations migrations mail-templates; do ln -sfn /$dir $dir; done",
      "ln -sfn /etc/museum-credentials/credentials.yaml credentials.yaml",
      "ln -sfn /etc/museum/museum-$registration.yaml museum.yaml",
      "exec /museum",
    ]) {
      assert.ok(start[2].split("\n").includes(line), line);
    }
    assert.ok(podSpec(museum).volumes.some((volume: any) => volume.configMap?.name === "museum-config"));
    assert.ok(museum.spec.template.metadata.annotations["checksum.infra/config-0"]);
    assert.deepEqual(manifest("Secret", "museum-credentials").stringData, { "credentials.yaml": "[secret]" });
    // No secret in the ConfigMap: its keys are exactly the ones that are none.
    assert.deepEqual(Object.keys(museumYamlOf(manifest("ConfigMap", "museum-config"))).sort(), [
      "apps",
      "db",
      "http",
      "internal",
      "log-file",
      "replication",
      "s3",
      "webauthn",
    ]);
  });

  it("gives museum the keys generated once for the app, the same on every run, in the sizes and encodings museum decodes", async () => {
    // Ente's generator (server/tools/gen-random-keys): 32 and 64 bytes in standard base64, 32 bytes URL-safe.
    assert.deepEqual(secrets, {
      keyEncryption: randomBytes(32),
      keyHash: randomBytes(64),
      jwtSecret: randomBytes(32, "base64url"),
    });
    const [first, second] = [await rendered(), await rendered()];
    const stable = first.manifest("Secret", "ente-stable").stringData;
    const credentials = credentialsOf(first.manifest("Secret", "museum-credentials"));
    assert.equal(credentials.key.encryption, stable.keyEncryption);
    assert.equal(credentials.key.hash, stable.keyHash);
    assert.equal(credentials.jwt.secret, paddedBase64url(stable.jwtSecret));
    assert.deepEqual(credentialsOf(second.manifest("Secret", "museum-credentials")), credentials);
    // What the app's secrets task generates decodes, as Go's padded decoders do, to those sizes.
    const generated = generateAppSecrets(project, secrets).values as Record<keyof typeof secrets, string>;
    const file = parse(
      credentialsYaml({
        ...generated,
        store: { accessKeyId: "id", secretAccessKey: "key" },
        smtpPassword: undefined,
      }),
    );
    assert.match(file.key.encryption, base64Of(32, "std"));
    assert.match(file.key.hash, base64Of(64, "std"));
    assert.match(file.jwt.secret, base64Of(32, "url"));
    assert.equal(Buffer.from(file.jwt.secret, "base64url").length, 32);
  });

  it("points museum at the app's own PostgreSQL database, every connection setting read from the database's Secret", () => {
    const variables = env(manifest("Deployment", "museum"));
    const keys = { HOST: "host", PORT: "port", NAME: "database", USER: "username", PASSWORD: "password" };
    for (const [name, key] of Object.entries(keys)) {
      assert.deepEqual(variables[`ENTE_DB_${name}`], fromSecret("ente-database", key), name);
    }
    assert.equal(museumYamlOf(manifest("ConfigMap", "museum-config")).db.sslmode, "disable");
    assert.ok(dependsOn("ente/museum", "postgresql/ente-ente-database"));
  });

  it("stores the files in the app's bucket as museum's only data center, b2-eu-cen, over HTTPS with path-style URLs, with the bucket's key", async () => {
    const config = museumYamlOf(manifest("ConfigMap", "museum-config"));
    assert.equal(store().endpoint, `https://s3.${stack}.${privateDomain()}`);
    assert.deepEqual(config.s3, {
      are_local_buckets: false,
      use_path_style_urls: true,
      [hotStorage]: { endpoint: store().endpoint, region: store().region, bucket: "ente-files" },
    });
    assert.deepEqual(config.replication, { enabled: false });
    const run = await rendered();
    const key = run.manifest("Secret", "ente-object-storage").stringData;
    assert.deepEqual(credentialsOf(run.manifest("Secret", "museum-credentials")).s3, {
      [hotStorage]: { key: key.accessKeyId, secret: key.secretAccessKey },
    });
    // The bucket's CORS lets the browsers of the apps that upload and download use presigned URLs.
    const h = hostnames();
    assert.equal(
      env(manifest("Job", "ente-ente-buckets")).CORS_ORIGINS,
      [h.photos, h.albums, h.cast].map((name) => `https://${name}`).join(" "),
    );
    // Museum starts once the bucket and its key exist in the store; the web apps never use it.
    assert.ok(dependsOn("ente/museum", "object-storage/ente-ente-buckets"));
    for (const name of webAppNames)
      assert.equal(dependsOn(`ente/${name}`, "object-storage/ente-ente-buckets"), false);
  });

  it("serves every web app on its own hostname in the private domain, recorded for the private DNS with the server's wildcard certificate, each pod filling in museum's and the albums' origins", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const h = hostnames();
    for (const name of webAppNames) {
      const { port, build } = webApps[name];
      assert.deepEqual(output.exposure(stack, project, name), {
        hostnames: [h[name]],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/" } }],
            backendRefs: [{ group: "", kind: "Service", name, port }],
          },
        ],
        gatewayClass: gateway.gatewayClass,
        certificateRefs: [wildcardCertificateRef],
        record: undefined,
        privateAddress: gateway.clusterIp,
      });
      const object = manifest("Deployment", name);
      const site = container(object, "site");
      assert.equal(site.image, images.enteWeb);
      assert.match(site.command[2], new RegExp(`cp -R /out/${build}/\\. /site/`));
      assert.deepEqual(env(object, "site"), {
        ENTE_API_ORIGIN: `https://${h.api}`,
        ENTE_ALBUMS_ORIGIN: `https://${h.albums}`,
        ENTE_PHOTOS_ORIGIN: `https://${h.photos}`,
      });
      assert.deepEqual(container(object).command, [
        "nginx",
        "-e",
        "stderr",
        "-c",
        `/etc/ente-web/${name}.conf`,
      ]);
      assert.match(manifest("ConfigMap", "web-nginx").data[`${name}.conf`], new RegExp(`listen ${port};`));
      assert.deepEqual(container(object).readinessProbe.httpGet, { path: "/", port });
    }
    assert.deepEqual(output.exposure(stack, project, "museum").hostnames, [h.api]);
    // Nothing of Ente is named outside the tailnet: no Cloudflare record, no certificate of its own.
    assert.deepEqual(
      output.resources(stack, project).filter((each) => /DnsRecord|Certificate$/.test(each.type)),
      [],
    );
    assert.deepEqual(
      output
        .privateNames(stack, project)
        .map((entry) => entry.hostname)
        .sort(),
      Object.values(h).sort(),
    );
    const outputs = output.outputs(stack, project);
    assert.equal(outputs.apiUrl, `https://${h.api}`);
    assert.equal(outputs.url, `https://${h.photos}`);
  });

  it("tells museum where its web apps are: public album links, passkeys on the accounts app, cast", () => {
    const h = hostnames();
    const config = museumYamlOf(manifest("ConfigMap", "museum-config"));
    assert.deepEqual(config.apps, {
      "public-albums": `https://${h.albums}`,
      accounts: `https://${h.accounts}`,
      cast: `https://${h.cast}`,
    });
    assert.deepEqual(config.webauthn, { rpid: h.accounts, rporigins: [`https://${h.accounts}`] });
    assert.deepEqual(config.http, { "use-tls": false });
    const museum = container(manifest("Deployment", "museum"));
    assert.deepEqual(museum.readinessProbe.httpGet, { path: "/ping", port: 8080 });
    assert.deepEqual(museum.startupProbe.httpGet, { path: "/ping", port: 8080 });
  });

  it("lets the first account sign up and closes sign-up once it exists, by default: museum starts closed when the gate says so, and a museum that started open is restarted", () => {
    const configMap = manifest("ConfigMap", "museum-config");
    assert.deepEqual(Object.keys(configMap.data).sort(), ["museum-closed.yaml", "museum-open.yaml"]);
    assert.deepEqual(museumYamlOf(configMap, "museum-open.yaml").internal, { "disable-registration": false });
    assert.deepEqual(museumYamlOf(configMap, "museum-closed.yaml").internal, {
      "disable-registration": true,
    });
    const museum = manifest("Deployment", "museum");
    const spec = podSpec(museum);
    // The gate checks museum's database before museum starts, and watches it beside museum.
    const gate = spec.initContainers.find(
      (candidate: Record<string, any>) => candidate.name === "registration-gate",
    );
    const watch = spec.containers.find(
      (candidate: Record<string, any>) => candidate.name === "registration-watch",
    );
    assert.deepEqual(gate.command, ["bash", "/opt/ente/registration-gate.sh", "once"]);
    assert.deepEqual(watch.command, ["bash", "/opt/ente/registration-gate.sh", "watch"]);
    for (const container of [gate, watch]) {
      const variables = Object.fromEntries(
        container.env.map((variable: Record<string, any>) => [
          variable.name,
          variable.value ?? variable.valueFrom,
        ]),
      );
      assert.deepEqual(variables.PGUSER, fromSecret("ente-database", "username"));
      assert.deepEqual(variables.PGPASSWORD, fromSecret("ente-database", "password"));
      assert.equal(variables.GATE_DIR, "/gate");
    }
    const liveness = container(museum).livenessProbe.exec.command;
    assert.deepEqual(liveness.slice(0, 2), ["/bin/sh", "-c"]);
    assert.match(
      liveness[2],
      /^wget -q -O \/dev\/null http:\/\/127\.0\.0\.1:8080\/ping && ! \{ \[ -e \/gate\/close \] && \[ "\$\(cat \/run\/museum\/registration\)" = open \]; \}$/,
    );
    // The gate's script is the one tested here for real (registration-gate.test.ts).
    assert.equal(
      manifest("ConfigMap", "registration-gate").data["registration-gate.sh"],
      readFileSync(join(enteScriptsDir, "registration-gate.sh"), "utf8"),
    );
  });

  it("keeps registration open or closed, without the gate, and names the admins when told", async () => {
    const open = await withSettings({ registration: "open" });
    assert.deepEqual(museumYamlOf(open.manifest("ConfigMap", "museum-config")).internal, {
      "disable-registration": false,
    });
    assert.equal(podSpec(open.manifest("Deployment", "museum")).initContainers, undefined);
    const run = await withSettings({
      registration: "closed",
      admins: [1580559962386438, "9007199254740993"],
    });
    assert.deepEqual(run.errors, []);
    const internal = museumYamlOf(run.manifest("ConfigMap", "museum-config")).internal;
    // Ids past 2^53 stay exact: they are written as the digits given.
    assert.deepEqual(internal, {
      admins: [1580559962386438n, 9007199254740993n],
      "disable-registration": true,
    });
    // The ConfigMap's checksum changes, so museum restarts with the new settings.
    assert.notEqual(
      run.manifest("Deployment", "museum").spec.template.metadata.annotations["checksum.infra/config-0"],
      manifest("Deployment", "museum").spec.template.metadata.annotations["checksum.infra/config-0"],
    );
  });

  it("sends mail through the configured SMTP server, its password in credentials.yaml, and may reach that server only", async () => {
    const model = output.model(stack);
    const world = egressPaths(model, "ente/museum").filter((path) => path.to.startsWith("world"));
    assert.deepEqual(world, []);
    const smtp = { host: "smtp.example.com", port: 465, from: "photos@example.com", username: "photos" };
    const run = await withSettings({ smtp: { ...smtp, implicitTls: true } }, { smtpPassword: "hunter2" });
    assert.deepEqual(run.errors, []);
    assert.deepEqual(museumYamlOf(run.manifest("ConfigMap", "museum-config")).smtp, {
      host: "smtp.example.com",
      port: 465n,
      email: "photos@example.com",
      username: "photos",
      encryption: "tls",
    });
    assert.deepEqual(credentialsOf(run.manifest("Secret", "museum-credentials")).smtp, {
      password: "hunter2",
    });
    assert.deepEqual(run.manifest("CiliumNetworkPolicy", "museum-egress").spec.egress.slice(1), [
      {
        toFQDNs: [{ matchName: "smtp.example.com" }],
        toPorts: [{ ports: [{ port: "465", protocol: "TCP" }] }],
      },
    ]);
    const missing = await withSettings({ smtp });
    assert.ok(
      missing.errors.some((error) => error.includes('"ente:smtpPassword" must be set')),
      missing.errors.join("\n"),
    );
  });

  it("lets museum reach its database and the object store (through the internal gateway), and the web pods nothing but DNS", () => {
    const model = output.model(stack);
    assert.ok(canReach(model, "ente/museum", "postgresql/postgresql", 5432));
    assert.ok(canReach(model, "ente/museum", "internal-gateway/traefik", 8443));
    assert.ok(canReach(model, "internal-gateway/traefik", "ente/museum", 8080));
    for (const name of webAppNames) {
      const pod = `ente/${name}`;
      const out = egressPaths(model, pod).filter((path) => path.to !== "kube-system/coredns");
      assert.deepEqual(out, [], name);
      assert.equal(canReach(model, pod, "postgresql/postgresql", 5432), false, name);
      assert.equal(canReach(model, pod, "internal-gateway/traefik", 8443), false, name);
      assert.equal(canReach(model, pod, "ente/museum", 8080), false, name);
      assert.ok(canReach(model, "internal-gateway/traefik", pod, webApps[name].port), name);
    }
  });
});

describe("Ente's config", () => {
  it("lets the first account sign up, names no admin, sends no mail and uses the default hostnames unless told", () => {
    const settings = enteConfig.parse({});
    assert.deepEqual(settings, { hostnames: {}, registration: "first-account", admins: [] });
  });

  it("refuses unknown keys, ids that are no user id, and hostnames that are no DNS names", () => {
    for (const value of [
      { registration: "first" },
      { admins: [-1] },
      { admins: ["12ab"] },
      { admins: [1.5] },
      { hostnames: { photo: "photos.example.com" } },
      { hostnames: { api: "https://api.example.com" } },
      { smtp: { host: "smtp.example.com" } },
      { smtp: { host: "smtp.example.com", from: "a@example.com", encryption: "tls" } },
    ]) {
      assert.equal(enteConfig.safeParse(value).success, false, JSON.stringify(value));
    }
  });
});
