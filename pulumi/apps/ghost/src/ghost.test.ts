import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { setConfig, wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach, egressPaths } from "@tools/synth/src/reachability";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests Ghost's own.
const project = "ghost";
const stack = "cloud-a";
const { output, manifest, resource } = exampleApp(project, stack);

const withSettings = (settings: Record<string, unknown>, secrets: Record<string, string> = {}) =>
  output.rerun(stack, project, setConfig(project, settings, secrets));

type Manifest = Record<string, any>;
const paths = (rule: Manifest) => rule.matches.map((match: Manifest) => match.path.value);
const hsts = {
  type: "ResponseHeaderModifier",
  responseHeaderModifier: { set: [{ name: "Strict-Transport-Security", value: "max-age=31536000" }] },
};
const forwardedProto = {
  type: "RequestHeaderModifier",
  requestHeaderModifier: { set: [{ name: "X-Forwarded-Proto", value: "https" }] },
};

describe("the ghost app on the example stacks", () => {
  it("runs the pinned Alpine image as node (1000) on port 2368, with no capabilities", () => {
    const deployment = manifest("Deployment", project);
    assert.equal(container(deployment).image, images.ghost);
    assert.match(images.ghost, /^ghost:6\.\d+\.\d+-alpine$/);
    assert.equal(podSpec(deployment).securityContext.runAsUser, 1000);
    assert.deepEqual(container(deployment).ports, [{ name: "http", containerPort: 2368, protocol: "TCP" }]);
    assert.deepEqual(container(deployment).resources, {
      requests: { cpu: "50m", memory: "256Mi" },
      limits: { memory: "1Gi" },
    });
  });

  it("tells Ghost its public URL, its tailnet-only admin URL and its own MySQL database, each setting read from the database Secret", () => {
    const variables = env(manifest("Deployment", project));
    assert.equal(variables.url, "https://blog.example.com");
    assert.equal(variables.admin__url, "https://blog-admin.internal.example.com");
    assert.equal(variables.database__client, "mysql");
    for (const [variable, key] of [
      ["database__connection__host", "host"],
      ["database__connection__port", "port"],
      ["database__connection__user", "username"],
      ["database__connection__password", "password"],
      ["database__connection__database", "database"],
    ]) {
      assert.deepEqual(variables[variable as string], fromSecret("ghost-database", key as string), variable);
    }
    assert.ok(canReach(output.model(stack), "ghost/ghost", "mysql/mysql", 3306));
  });

  it("backs the content directory up with its database, leaving out logs", () => {
    const backup = env(manifest("CronJob", "ghost-backup"));
    assert.equal(backup.BACKUP_VOLUMES, "content");
    assert.equal(backup.BACKUP_EXCLUDE, "content/logs");
    assert.equal(backup.DB_DATABASES, "ghost");
    assert.deepEqual(container(manifest("Deployment", project)).volumeMounts, [
      { name: "pvc-content", mountPath: "/var/lib/ghost/content" },
    ]);
  });

  it("serves the blog publicly with X-Forwarded-Proto https, and redirects /ghost to the admin's tailnet hostname instead of passing it on", () => {
    const route = manifest("HTTPRoute", project);
    assert.deepEqual(route.spec.hostnames, ["blog.example.com"]);
    assert.equal(route.metadata.annotations["homelab.infra/withheld-paths"], "/ghost");
    const [blog, admin, ...others] = route.spec.rules;
    assert.deepEqual(others, []);
    assert.deepEqual(paths(blog), ["/"]);
    assert.deepEqual(blog.filters, [forwardedProto, hsts]);
    assert.deepEqual(blog.backendRefs, [{ group: "", kind: "Service", name: "ghost", port: 2368 }]);
    assert.deepEqual(admin, {
      matches: [{ path: { type: "PathPrefix", value: "/ghost" } }],
      filters: [
        {
          type: "RequestRedirect",
          requestRedirect: { scheme: "https", hostname: "blog-admin.internal.example.com", statusCode: 302 },
        },
      ],
    });
    assert.equal(manifest("Gateway", project).spec.gatewayClassName, "public");
  });

  it("serves the admin, and only the admin, on its own hostname in the private domain through the internal gateway, with the server's wildcard certificate", () => {
    const route = manifest("HTTPRoute", "ghost-admin");
    assert.deepEqual(route.spec.hostnames, ["blog-admin.internal.example.com"]);
    assert.deepEqual(
      route.spec.rules.map((rule: Manifest) => [paths(rule), rule.backendRefs]),
      [[["/ghost"], [{ group: "", kind: "Service", name: "ghost", port: 2368 }]]],
    );
    assert.equal(manifest("Gateway", "ghost-admin").spec.gatewayClassName, "internal");
    assert.deepEqual(output.exposure(stack, project, "ghost-admin").certificateRefs, [
      wildcardCertificateRef,
    ]);
    // The blog's public name alone gets a certificate of its own (and so a line in the CT logs).
    assert.deepEqual(manifest("Certificate", project).spec.dnsNames, ["blog.example.com"]);
    assert.equal(
      output.manifests(stack, project).filter((object) => object.kind === "Certificate").length,
      1,
    );
    assert.equal(output.outputs(stack, project).adminUrl, "https://blog-admin.internal.example.com/ghost/");
  });

  it("publishes the blog's name proxied by Cloudflare, and records the admin's for the private DNS only, at the internal gateway's address", () => {
    const blog = resource("cloudflare:index/dnsRecord:DnsRecord", "ghost/ghost");
    assert.equal(blog.inputs.name, "blog.example.com");
    assert.equal(blog.inputs.proxied, true);
    assert.equal(output.exposure(stack, project, "ghost-admin").record, undefined);
    assert.deepEqual(
      output
        .resources(stack, project)
        .filter((each) => each.type === "cloudflare:index/dnsRecord:DnsRecord")
        .map((each) => each.inputs.name),
      ["blog.example.com"],
    );
    assert.deepEqual(output.privateNames(stack, project), [
      {
        hostname: "blog-admin.internal.example.com",
        address: output.outputs(stack, "internal-gateway").clusterIp,
      },
    ]);
  });

  it("reaches nothing outside the cluster with the example's settings", () => {
    const world = egressPaths(output.model(stack), "ghost/ghost").filter((path) =>
      path.to.startsWith("world"),
    );
    assert.deepEqual(world, []);
  });

  it("keeps the admin on the blog's own public hostname when told to, with no admin URL and no private route", async () => {
    const rendered = await withSettings({ admin: { exposure: "public" } });
    assert.deepEqual(rendered.errors, []);
    assert.equal(env(rendered.manifest("Deployment", project)).admin__url, undefined);
    const route = rendered.manifest("HTTPRoute", project);
    assert.equal(route.metadata.annotations, undefined);
    assert.deepEqual(route.spec.rules.map(paths), [["/"]]);
    assert.equal(
      rendered.resources.some((candidate) => candidate.name.includes("ghost-admin")),
      false,
    );
  });

  it("sends mail through the configured SMTP server, with the password from a secret, and may reach it only", async () => {
    const smtp = {
      host: "smtp.example.com",
      port: 465,
      secure: true,
      from: "blog@example.com",
      username: "blog",
    };
    const rendered = await withSettings({ smtp }, { smtpPassword: "smtp password" });
    assert.deepEqual(rendered.errors, []);
    const variables = env(rendered.manifest("Deployment", project));
    assert.deepEqual(
      [
        variables.mail__transport,
        variables.mail__options__host,
        variables.mail__options__port,
        variables.mail__options__secure,
        variables.mail__from,
        variables.mail__options__auth__user,
      ],
      ["SMTP", "smtp.example.com", "465", "true", "blog@example.com", "blog"],
    );
    assert.deepEqual(variables.mail__options__auth__pass, fromSecret("ghost-smtp", "password"));
    assert.deepEqual(rendered.manifest("CiliumNetworkPolicy", "ghost-egress").spec.egress.slice(1), [
      {
        toFQDNs: [{ matchName: "smtp.example.com" }],
        toPorts: [{ ports: [{ port: "465", protocol: "TCP" }] }],
      },
    ]);
  });

  it("refuses an SMTP login without its password secret, naming the key to set", async () => {
    const rendered = await withSettings({
      smtp: { host: "smtp.example.com", from: "blog@example.com", username: "blog" },
    });
    assert.match(rendered.errors.join("\n"), /the secret "ghost:smtpPassword" must be set/);
  });
});
