import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { exampleServerInfo } from "@infra/databases/src/testing/server-info";
import { exampleBackupSettings } from "@infra/restic/src/testing/backup-config";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { z } from "zod";
import { type PrivateName, recordedPrivateNames } from "../recorded-exposures";
import { type App, createApp } from "./app";
import { readAppConfig } from "./config";

const gateway = (gatewayClass: string, namespace: string, servedNamespaces: string[]) => ({
  gatewayClass,
  namespace,
  podLabels: { "app.kubernetes.io/name": "traefik" },
  serviceAccount: "traefik",
  servedNamespaces,
  listenerPorts: { http: 8000, https: 8443 },
});

/** What the layers below an app export on stack cloud-a, as the app reads them. */
const stackExports = {
  shared: {
    server: { name: "cloud-a", kubeContext: "cloud-a" },
    network: { clusterCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16", clusterDnsIp: "10.43.0.10" },
    domain: "example.com",
    privateDomain: "internal.example.com",
    cloudflare: { zoneId: "0123456789abcdef0123456789abcdef" },
    cloudflareApiToken: "cf-token",
    backup: exampleBackupSettings,
  },
  cilium: {},
  "cert-manager": { issuers: { public: "public", plain: "plain" }, namespace: "cert-manager" },
  postgresql: { server: exampleServerInfo("postgresql") },
  "object-storage": {
    server: {
      namespace: "object-storage",
      podLabels: { "app.kubernetes.io/name": "object-storage" },
      s3Url: "http://object-storage.object-storage.svc.cluster.local:3900",
      s3Port: 3900,
      adminUrl: "http://garage-admin.object-storage.svc.cluster.local:3903",
      adminPort: 3903,
      region: "garage",
      endpoint: "https://s3.cloud-a.internal.example.com",
      adminSecret: { name: "object-storage-secrets", key: "token" },
    },
  },
  "internal-gateway": {
    ...gateway("internal", "internal-gateway", ["notes"]),
    clusterIp: "10.43.0.53",
    wildcardCertificate: { namespace: "internal-gateway-tls", secretName: "private-wildcard-tls" },
    routerPodLabels: { "app.kubernetes.io/name": "tailscale-router" },
  },
  "public-gateway": {
    ...gateway("public", "public-gateway", ["notes"]),
    publicIp: "203.0.113.10",
    strictTransportSecurity: "max-age=31536000",
  },
};

interface RenderedApp extends RenderedProgram {
  /** The resource of a type and Pulumi name; fails the test when there is none. */
  resource(type: string, name: string): RenderedProgram["resources"][number];
  /** Whether `dependent` was registered depending on `dependency` (types and names). */
  dependsOn(dependent: [string, string], dependency: [string, string]): boolean;
  env(kind: string, name: string): Record<string, any>;
  /** The private names the app recorded for the tailnet's private DNS (its program's `privateNames` output). */
  privateNames: PrivateName[];
  /** The names of its Cloudflare records, in order. */
  publicRecords: { name: string; content: string; proxied: boolean }[];
}

/** Every private name recorded so far in this process (the kit keeps one list per program run). */
function privateNamesRecorded(): Promise<PrivateName[]> {
  return new Promise((resolve) => recordedPrivateNames().apply(resolve));
}

/** A placement file of these apps' entries (`pulumi/placement.yaml`'s shape). */
function placementFile(apps: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), "placement-")), "placement.yaml");
  writeFileSync(file, JSON.stringify({ apps }));
  return file;
}

const notesOnCloudA = placementFile({ notes: "cloud-a" });

/** Renders an app written with the kit, as the project `notes` on stack cloud-a, placed by `placement`. */
async function renderApp(
  write: (app: App) => void,
  config: Record<string, unknown> = {},
  secretKeys: string[] = [],
  placement = notesOnCloudA,
): Promise<RenderedApp> {
  process.env.HOMELAB_PLACEMENT = placement;
  const recordedBefore = (await privateNamesRecorded()).length;
  const rendered = await render(
    () => write(createApp({ name: "notes", user: { user: 1000, group: 1000 } })),
    {
      project: "notes",
      stack: "cloud-a",
      stackExports,
      config,
      secretKeys,
    },
  );
  const privateNames = (await privateNamesRecorded()).slice(recordedBefore);
  const resource = (type: string, name: string) => {
    const found = rendered.resources.find((candidate) => candidate.type === type && candidate.name === name);
    assert.ok(found, `no ${type} ${name}`);
    return found;
  };
  const podSpec = (object: Record<string, any>) =>
    object.kind === "CronJob" ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec;
  return {
    ...rendered,
    privateNames,
    publicRecords: rendered.resources
      .filter((candidate) => candidate.type === "cloudflare:index/dnsRecord:DnsRecord")
      .map(({ inputs }) => ({
        name: String(inputs.name),
        content: String(inputs.content),
        proxied: inputs.proxied === true,
      })),
    resource,
    dependsOn: (dependent, dependency) =>
      resource(...dependent).dependsOn.includes(resource(...dependency).urn),
    env: (kind, name) =>
      Object.fromEntries(
        podSpec(rendered.manifest(kind, name)).containers[0].env.map((variable: Record<string, any>) => [
          variable.name,
          variable.value ?? variable.valueFrom,
        ]),
      ),
  };
}

/** What synth answers for a key of a secrets file on cloud-a (tools/synth/src/invokes.ts): never the real value. */
const synthSecret = (file: string, key: string) =>
  createHash("sha256").update(`synth-app-secret:cloud-a:${file}:${key}`).digest("base64url");

const deployment = "kubernetes:apps/v1:Deployment";
const policy = "kubernetes:cilium.io/v2:CiliumNetworkPolicy";
const job = "kubernetes:batch/v1:Job";

/** An app with a database, a backed-up volume with a cache, a scratch volume, and a private web service. */
function notes(app: App): void {
  const database = app.database("postgresql");
  const data = app.volume({ name: "data", storage: { size: "1Gi" }, backup: { exclude: ["cache"] } });
  const scratch = app.volume({ name: "scratch", storage: { size: "1Gi" }, backup: false });
  app.service({
    port: 8080,
    container: {
      image: "example/notes:1.0",
      env: { DATABASE_URL: database.url },
      volumeMounts: [
        { volume: data, mountPath: "/data" },
        { volume: scratch, mountPath: "/scratch" },
      ],
    },
    exposures: [{ gateway: "private", hostname: "notes.internal.example.com" }],
  });
  app.service({ name: "notes-static", port: 8081, container: { image: "example/notes-static:1.0" } });
}

describe("createApp", () => {
  it("puts every resource of the app under its component, so a preview shows the app as one tree", async () => {
    const rendered = await renderApp(notes);
    assert.deepEqual(rendered.errors, []);
    const component = rendered.resource("homelab:apps:App", "notes");
    const byUrn = new Map(rendered.resources.map((resource) => [resource.urn, resource]));
    const underComponent = (urn: string | undefined): boolean =>
      urn === component.urn || (urn !== undefined && underComponent(byUrn.get(urn)?.parent));
    const outside = rendered.resources.filter(
      (resource) =>
        resource !== component &&
        !resource.type.startsWith("pulumi:") &&
        !underComponent(resource.parent) &&
        // The stack's shared providers serve every app of the project.
        !resource.type.startsWith("pulumi:providers:"),
    );
    assert.deepEqual(
      outside.map((resource) => `${resource.type} ${resource.name}`),
      [],
    );
  });

  it("starts a service only after the app's restore, its database and the policies its pods need", async () => {
    const rendered = await renderApp(notes);
    const web: [string, string] = [deployment, "notes/notes"];
    for (const dependency of [
      [job, "notes/notes-restore"],
      ["command:local:Command", "notes/notes-final-backup"],
      [job, "postgresql/notes-notes-database"],
      [policy, "notes/notes-to-postgresql"],
      [policy, "postgresql/postgresql-from-notes-notes"],
      [policy, "notes/notes-from-internal-gateway"],
    ] as [string, string][]) {
      assert.ok(rendered.dependsOn(web, dependency), dependency.join(" "));
    }
  });

  it("lets only the services whose containers reference the database reach it", async () => {
    const rendered = await renderApp(notes);
    const names = rendered.manifests
      .filter((object: Record<string, any>) => object.kind === "CiliumNetworkPolicy")
      .map((object: Record<string, any>) => `${object.metadata.namespace}/${object.metadata.name}`);
    assert.ok(names.includes("notes/notes-to-postgresql"));
    assert.ok(!names.some((name) => name.includes("notes-static")), names.join(", "));
    assert.equal(
      rendered.dependsOn([deployment, "notes/notes-static"], [job, "postgresql/notes-notes-database"]),
      false,
    );
  });

  it("backs the marked volumes and the database up into one repository named after the app", async () => {
    const rendered = await renderApp(notes);
    const backup = rendered.env("CronJob", "notes-backup");
    assert.equal(backup.RESTIC_REPOSITORY, "rclone:storage:homelab-backups/notes");
    assert.equal(backup.BACKUP_VOLUMES, "data");
    assert.equal(backup.BACKUP_EXCLUDE, "data/cache");
    assert.equal(backup.BACKUP_HOOK, "/opt/scripts/postgresql-backup-hook.sh");
    // With the app's own credentials, on its database only.
    assert.equal(backup.DB_USER, "notes");
    assert.equal(backup.DB_DATABASES, "notes");
    assert.equal(
      rendered.env("Job", "notes-restore").RESTORE_PRESENT_HOOK,
      "/opt/scripts/postgresql-present-hook.sh",
    );
    const egress = rendered.manifest("CiliumNetworkPolicy", "backup-to-postgresql");
    assert.deepEqual(egress.spec.endpointSelector, { matchLabels: { "backup.infra/app": "notes" } });
    // The restore loads into the database the app's job created.
    assert.ok(rendered.dependsOn([job, "notes/notes-restore"], [job, "postgresql/notes-notes-database"]));
  });

  it("keeps the database until the final backup of the stopped app succeeded", async () => {
    const rendered = await renderApp(notes);
    const final: [string, string] = ["command:local:Command", "notes/notes-final-backup"];
    assert.ok(rendered.dependsOn(final, [job, "postgresql/notes-notes-database"]));
    assert.ok(rendered.dependsOn(final, ["kubernetes:core/v1:Secret", "notes/notes-database"]));
    assert.ok(rendered.dependsOn(final, [policy, "notes/backup-to-postgresql"]));
    assert.ok(rendered.dependsOn(final, ["kubernetes:core/v1:PersistentVolumeClaim", "notes/data"]));
    assert.equal(
      rendered.dependsOn(final, ["kubernetes:core/v1:PersistentVolumeClaim", "notes/scratch"]),
      false,
    );
  });

  it("gives an app with no data no backups", async () => {
    let app: App | undefined;
    const rendered = await renderApp((created) => {
      app = created;
      created.service({ port: 8080, container: { image: "example/notes:1.0" } });
    });
    assert.deepEqual(rendered.errors, []);
    assert.deepEqual(app?.backups(), []);
    assert.throws(() => rendered.manifest("CronJob", "notes-backup"));
  });

  it("refuses a backed-up volume or a database created after its first service, which its backups could not hold", async () => {
    for (const late of [
      (app: App) => app.volume({ name: "late", storage: { size: "1Gi" } }),
      (app: App) => app.database("postgresql"),
    ]) {
      const rendered = await renderApp((app) => {
        app.service({ port: 8080, container: { image: "example/notes:1.0" } });
        late(app);
      });
      assert.match(rendered.errors.join("\n"), /is created after the app's first service/);
    }
  });

  it("lets a service reach the hosts it declares outside the cluster, and nothing else there", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0" },
        egress: [
          { hosts: ["smtp.example.com"], ports: [{ port: 587 }] },
          { hosts: ["198.51.100.7"], ports: [{ port: 443 }] },
        ],
      });
    });
    const { spec } = rendered.manifest("CiliumNetworkPolicy", "notes-egress");
    assert.deepEqual(spec.endpointSelector, { matchLabels: { "app.kubernetes.io/name": "notes" } });
    assert.deepEqual(spec.egress.slice(1), [
      {
        toFQDNs: [{ matchName: "smtp.example.com" }],
        toPorts: [{ ports: [{ port: "587", protocol: "TCP" }] }],
      },
      { toCIDRSet: [{ cidr: "198.51.100.7/32" }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
    ]);
  });

  it("exposes a service through each gateway it names, on its own hostname and paths: the private name for the private DNS, the public one at Cloudflare", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        port: 5678,
        container: { image: "example/notes:1.0" },
        exposures: [
          { gateway: "private", hostname: "notes.internal.example.com" },
          { gateway: "public", hostname: "hooks.example.com", paths: ["/webhook/"], name: "notes-hooks" },
        ],
      });
    });
    assert.equal(rendered.manifest("Gateway", "notes").spec.gatewayClassName, "internal");
    assert.equal(rendered.manifest("Gateway", "notes-hooks").spec.gatewayClassName, "public");
    assert.deepEqual(rendered.manifest("HTTPRoute", "notes-hooks").spec.rules, [
      {
        matches: [{ path: { type: "PathPrefix", value: "/webhook/" } }],
        // The public gateway's HSTS header (its strictTransportSecurity export).
        filters: [
          {
            type: "ResponseHeaderModifier",
            responseHeaderModifier: {
              set: [{ name: "Strict-Transport-Security", value: "max-age=31536000" }],
            },
          },
        ],
        backendRefs: [{ group: "", kind: "Service", name: "notes", port: 5678 }],
      },
    ]);
    assert.deepEqual(rendered.publicRecords, [
      { name: "hooks.example.com", content: "203.0.113.10", proxied: true },
    ]);
    assert.deepEqual(rendered.privateNames, [
      { hostname: "notes.internal.example.com", address: "10.43.0.53" },
    ]);
    // The private listener uses the server's wildcard certificate; only the public name has its own.
    assert.deepEqual(rendered.manifest("Gateway", "notes").spec.listeners[0].tls.certificateRefs, [
      { group: "", kind: "Secret", name: "private-wildcard-tls", namespace: "internal-gateway-tls" },
    ]);
    assert.deepEqual(
      rendered.manifests
        .filter((object) => object.kind === "Certificate")
        .map((object: Record<string, any>) => object.spec.dnsNames),
      [["hooks.example.com"]],
    );
    assert.deepEqual(rendered.manifest("ReferenceGrant", "notes").spec.from, [
      { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "notes" },
    ]);
    assert.ok(
      rendered.dependsOn([deployment, "notes/notes"], [policy, "notes/notes-hooks-from-public-gateway"]),
    );
  });

  it("routes other paths of an exposure's hostname to another service of the app, which its gateway's Traefik may reach before it starts", async () => {
    const rendered = await renderApp((app) => {
      const login = app.service({
        name: "login",
        port: 3000,
        container: { image: "example/login:1.0" },
        routedBy: ["private"],
      });
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0" },
        exposures: [
          {
            gateway: "private",
            hostname: "notes.internal.example.com",
            routes: [{ paths: ["/ui/login"], service: login }],
          },
        ],
      });
    });
    assert.deepEqual(
      rendered
        .manifest("HTTPRoute", "notes")
        .spec.rules.map((rule: Record<string, any>) => [
          rule.matches.map((match: Record<string, any>) => match.path.value),
          rule.backendRefs.map((ref: Record<string, any>) => `${ref.name}:${ref.port}`),
        ]),
      [
        [["/"], ["notes:8080"]],
        [["/ui/login"], ["login:3000"]],
      ],
    );
    const ingress = rendered.manifest("CiliumNetworkPolicy", "login-from-internal-gateway").spec;
    assert.deepEqual(ingress.endpointSelector.matchLabels, { "app.kubernetes.io/name": "login" });
    assert.deepEqual(ingress.ingress[0].toPorts, [{ ports: [{ port: "3000", protocol: "TCP" }] }]);
    assert.ok(rendered.dependsOn([deployment, "notes/login"], [policy, "notes/login-from-internal-gateway"]));
  });

  it("refuses to route a path to a service its gateway may not reach", async () => {
    const rendered = await renderApp((app) => {
      const login = app.service({ name: "login", port: 3000, container: { image: "example/login:1.0" } });
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0" },
        exposures: [
          {
            gateway: "public",
            hostname: "notes.example.com",
            routes: [{ paths: ["/ui/login"], service: login }],
          },
        ],
      });
    });
    assert.match(
      rendered.errors.join("\n"),
      /routes \/ui\/login to login, which needs routedBy: \["public"\]/,
    );
  });

  it("keeps withheld paths from every service of an exposure, redirecting them to the hostname that serves them", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        port: 2368,
        container: { image: "example/notes:1.0" },
        exposures: [
          {
            gateway: "public",
            hostname: "notes.example.com",
            withheld: { paths: ["/admin"], redirectTo: "notes-admin.internal.example.com" },
          },
          {
            gateway: "private",
            name: "notes-admin",
            hostname: "notes-admin.internal.example.com",
            paths: ["/admin"],
          },
        ],
      });
    });
    const route = rendered.manifest("HTTPRoute", "notes");
    assert.equal(route.metadata.annotations["homelab.infra/withheld-paths"], "/admin");
    const [forwarded, withheld] = route.spec.rules;
    assert.deepEqual(forwarded.matches, [{ path: { type: "PathPrefix", value: "/" } }]);
    assert.deepEqual(withheld, {
      matches: [{ path: { type: "PathPrefix", value: "/admin" } }],
      filters: [
        {
          type: "RequestRedirect",
          requestRedirect: { scheme: "https", hostname: "notes-admin.internal.example.com", statusCode: 302 },
        },
      ],
    });
    assert.deepEqual(rendered.manifest("HTTPRoute", "notes-admin").spec.rules[0].backendRefs, [
      { group: "", kind: "Service", name: "notes", port: 2368 },
    ]);
  });

  it("refuses two exposures of one service that would share a name", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0" },
        exposures: [
          { gateway: "private", hostname: "notes.internal.example.com" },
          { gateway: "public", hostname: "notes-public.example.com" },
        ],
      });
    });
    assert.match(rendered.errors.join("\n"), /name every exposure after the first/);
  });

  it("routes tailnet ports to a service on its fixed address, with the policies on both sides, its name recorded for the private DNS only", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        port: 8384,
        container: {
          image: "example/sync:1.0",
          ports: [
            { name: "sync-tcp", port: 22000 },
            { name: "sync-udp", port: 22000, protocol: "UDP" },
          ],
        },
        tailnetPorts: {
          address: "syncthing",
          hostname: "sync.internal.example.com",
          ports: [
            { name: "sync-tcp", port: 22000 },
            { name: "sync-udp", port: 22000, protocol: "UDP" },
          ],
        },
      });
    });
    const service = rendered.manifest("Service", "notes-tailnet");
    assert.equal(service.spec.clusterIP, "10.43.0.54");
    assert.deepEqual(
      service.spec.ports.map((port: Record<string, unknown>) => [port.port, port.protocol]),
      [
        [22000, "TCP"],
        [22000, "UDP"],
      ],
    );
    const router = rendered.manifest("CiliumNetworkPolicy", "tailscale-router-to-notes");
    assert.equal(router.metadata.namespace, "internal-gateway");
    assert.deepEqual(router.spec.egress[0].toEndpoints, [
      { matchLabels: { "app.kubernetes.io/name": "notes", "k8s:io.kubernetes.pod.namespace": "notes" } },
    ]);
    const ingress = rendered.manifest("CiliumNetworkPolicy", "notes-from-tailnet");
    assert.deepEqual(ingress.spec.ingress[0].fromEndpoints, [
      {
        matchLabels: {
          "app.kubernetes.io/name": "tailscale-router",
          "k8s:io.kubernetes.pod.namespace": "internal-gateway",
        },
      },
    ]);
    assert.deepEqual(rendered.publicRecords, []);
    assert.deepEqual(rendered.privateNames, [
      { hostname: "sync.internal.example.com", address: "10.43.0.54" },
    ]);
  });

  it("runs the app's jobs one after the other, after its restore, its database and their policies, and starts its services after them", async () => {
    const rendered = await renderApp((app) => {
      const database = app.database("postgresql");
      app.volume({ name: "data", storage: { size: "1Gi" } });
      app.job({ name: "notes-init", container: { image: "example/notes:1.0", env: { DB: database.url } } });
      app.job({
        name: "notes-migrate",
        container: { image: "example/notes:1.0", env: { DB: database.url } },
      });
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
    });
    assert.deepEqual(rendered.errors, []);
    const init: [string, string] = [job, "notes/notes-init"];
    const migrate: [string, string] = [job, "notes/notes-migrate"];
    for (const dependency of [
      [job, "notes/notes-restore"],
      [job, "postgresql/notes-notes-database"],
      [policy, "notes/notes-init-to-postgresql"],
      [policy, "postgresql/postgresql-from-notes-notes-init"],
    ] as [string, string][]) {
      assert.ok(rendered.dependsOn(init, dependency), dependency.join(" "));
    }
    assert.ok(rendered.dependsOn(migrate, init));
    assert.equal(rendered.dependsOn(init, migrate), false);
    for (const step of [init, migrate]) assert.ok(rendered.dependsOn([deployment, "notes/notes"], step));
    // A Job runs once: as the app's user, never restarted in place, within its deadline.
    const spec = rendered.manifest("Job", "notes-migrate").spec;
    assert.deepEqual(
      [spec.backoffLimit, spec.activeDeadlineSeconds, spec.template.spec.restartPolicy],
      [2, 600, "Never"],
    );
    assert.equal(spec.template.spec.securityContext.runAsUser, 1000);
    assert.deepEqual(spec.template.spec.containers[0].resources, {
      requests: { cpu: "10m", memory: "64Mi" },
      limits: { memory: "512Mi" },
    });
    // The service references no database: only its jobs reach it.
    assert.equal(
      rendered.dependsOn([deployment, "notes/notes"], [job, "postgresql/notes-notes-database"]),
      false,
    );
  });

  it("starts a service after only the jobs it names, when it names them", async () => {
    const rendered = await renderApp((app) => {
      app.job({ name: "notes-import", container: { image: "example/notes:1.0" } });
      app.service({ port: 8080, container: { image: "example/notes:1.0" }, after: [] });
    });
    assert.deepEqual(rendered.errors, []);
    assert.equal(rendered.dependsOn([deployment, "notes/notes"], [job, "notes/notes-import"]), false);
  });

  it("refuses a job and a service of one name, whose pods would share their policies", async () => {
    const rendered = await renderApp((app) => {
      app.job({ name: "notes", container: { image: "example/notes:1.0" } });
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
    });
    assert.match(rendered.errors.join("\n"), /App notes already has a job or service named notes/);
  });

  it("opens the path from a service to one it calls, created after it, before either starts", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        name: "notes-ui",
        port: 3000,
        container: { image: "example/notes-ui:1.0" },
        reaches: [{ service: "notes", port: 8080 }],
      });
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
    });
    assert.deepEqual(rendered.errors, []);
    const egress = rendered.manifest("CiliumNetworkPolicy", "notes-ui-to-notes").spec;
    assert.deepEqual(egress.endpointSelector, { matchLabels: { "app.kubernetes.io/name": "notes-ui" } });
    assert.deepEqual(egress.egress, [
      {
        toEndpoints: [{ matchLabels: { "app.kubernetes.io/name": "notes" } }],
        toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }],
      },
    ]);
    const ingress = rendered.manifest("CiliumNetworkPolicy", "notes-from-notes-ui").spec;
    assert.deepEqual(ingress.endpointSelector, { matchLabels: { "app.kubernetes.io/name": "notes" } });
    assert.deepEqual(ingress.ingress[0].fromEndpoints, [
      { matchLabels: { "app.kubernetes.io/name": "notes-ui" } },
    ]);
    for (const service of ["notes/notes-ui", "notes/notes"]) {
      for (const path of ["notes/notes-ui-to-notes", "notes/notes-from-notes-ui"]) {
        assert.ok(rendered.dependsOn([deployment, service], [policy, path]), `${service} → ${path}`);
      }
    }
  });

  it("opens paths both ways between two services that call each other, each before the caller starts", async () => {
    const rendered = await renderApp((app) => {
      app.service({
        name: "notes-ui",
        port: 3000,
        container: { image: "example/notes-ui:1.0" },
        reaches: [{ service: "notes", port: 8080 }],
      });
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0" },
        reaches: [{ service: "notes-ui", port: 3000 }],
      });
    });
    assert.deepEqual(rendered.errors, []);
    const egress = rendered.manifest("CiliumNetworkPolicy", "notes-to-notes-ui").spec;
    assert.deepEqual(egress.egress[0].toEndpoints, [
      { matchLabels: { "app.kubernetes.io/name": "notes-ui" } },
    ]);
    assert.deepEqual(egress.egress[0].toPorts, [{ ports: [{ port: "3000", protocol: "TCP" }] }]);
    assert.ok(rendered.manifest("CiliumNetworkPolicy", "notes-ui-from-notes"));
    // The later caller starts after its path to the earlier service exists.
    for (const path of ["notes/notes-to-notes-ui", "notes/notes-ui-from-notes"]) {
      assert.ok(rendered.dependsOn([deployment, "notes/notes"], [policy, path]), path);
    }
  });

  it("refuses a path on a port the called service does not serve, whether it comes before or after the caller", async () => {
    const later = await renderApp((app) => {
      app.service({
        name: "notes-ui",
        port: 3000,
        container: { image: "example/notes-ui:1.0" },
        reaches: [{ service: "notes", port: 9090 }],
      });
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
    });
    assert.match(later.errors.join("\n"), /notes-ui reaches notes on port 9090, but notes serves 8080/);
    const earlier = await renderApp((app) => {
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
      app.service({
        name: "notes-ui",
        port: 3000,
        container: { image: "example/notes-ui:1.0" },
        reaches: [{ service: "notes", port: 9090 }],
      });
    });
    assert.match(earlier.errors.join("\n"), /notes-ui reaches notes on port 9090, but notes serves 8080/);
  });

  it("runs a worker with no port and no Service, reaching what it names, and gives nothing a way to it", async () => {
    const rendered = await renderApp((app) => {
      const database = app.database("postgresql");
      app.worker({
        name: "notes-worker",
        container: { image: "example/notes:1.0", env: { DATABASE_URL: database.url } },
        reaches: [{ service: "notes", port: 8080 }],
      });
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
    });
    assert.deepEqual(rendered.errors, []);
    const worker = rendered.manifest("Deployment", "notes-worker");
    assert.equal(worker.spec.template.spec.containers[0].ports, undefined);
    assert.ok(
      !rendered.manifests.some(
        (object: Record<string, any>) => object.kind === "Service" && object.metadata.name === "notes-worker",
      ),
    );
    for (const dependency of [
      [policy, "notes/notes-worker-to-postgresql"],
      [policy, "notes/notes-worker-to-notes"],
      [job, "postgresql/notes-notes-database"],
      [job, "notes/notes-restore"],
    ] as [string, string][]) {
      assert.ok(rendered.dependsOn([deployment, "notes/notes-worker"], dependency), dependency.join(" "));
    }
    const reached = await renderApp((app) => {
      app.worker({ name: "notes-worker", container: { image: "example/notes:1.0" } });
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0" },
        reaches: [{ service: "notes-worker", port: 8080 }],
      });
    });
    assert.match(
      reached.errors.join("\n"),
      /notes reaches notes-worker on port 8080, but notes-worker serves no port/,
    );
  });

  it("fails naming the file, the keys and the task to run when the app's secrets file lacks a stable secret", async () => {
    const rendered = await renderApp((app) => {
      app.stableSecrets({ key: { kind: "bytes", bytes: 32, encoding: "base64" } });
    });
    assert.match(
      rendered.errors.join("\n"),
      /secrets\/apps\/notes\.yaml lacks the secret\(s\) key of notes\. Create or complete it with `task app:secrets APP=notes`/,
    );
  });

  it("opens the app's repository with its own password and storage key, from its secrets file, in its backup jobs only", async () => {
    const rendered = await renderApp(notes);
    assert.deepEqual(rendered.errors, []);
    assert.deepEqual(rendered.manifest("Secret", "restic-password").stringData, {
      password: synthSecret("secrets/apps/notes.yaml", "resticPassword"),
    });
    assert.deepEqual(rendered.manifest("Secret", "rclone-config").stringData, {
      "rclone.conf": synthSecret("secrets/apps/notes.yaml", "rcloneConfig"),
    });
    const secretsOf = (kind: string, name: string) => {
      const object = rendered.manifest(kind, name);
      const spec =
        kind === "CronJob" ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec;
      return (spec.volumes ?? []).flatMap((volume: Record<string, any>) =>
        volume.secret ? [volume.secret.secretName] : [],
      );
    };
    for (const [kind, job] of [
      ["CronJob", "notes-backup"],
      ["CronJob", "notes-final-backup"],
      ["Job", "notes-restore"],
    ] as const) {
      // backup-notify: the stack's notification URLs (empty when it has no backup:notify).
      assert.deepEqual(
        secretsOf(kind, job).sort(),
        ["backup-notify", "notes-database", "rclone-config", "restic-password"],
        job,
      );
    }
    // The app's own pods never mount them.
    for (const name of ["notes", "notes-static"]) assert.deepEqual(secretsOf("Deployment", name), [], name);
  });

  it("keeps the backup secrets out of the Secret of the app's stable secrets", async () => {
    const rendered = await renderApp((app) => {
      app.stableSecrets({});
      notes(app);
    });
    assert.deepEqual(rendered.errors, []);
    assert.deepEqual(rendered.manifest("Secret", "notes-stable").stringData, {});
  });

  it("leaves retention to the operator when the stack's storage is append-only, and exports where the password is kept", async () => {
    let app: App | undefined;
    const rendered = await renderApp((created) => {
      app = created;
      notes(created);
    });
    assert.equal(rendered.env("CronJob", "notes-backup").BACKUP_APPEND_ONLY, "true");
    const [entry] = app?.backups() ?? [];
    assert.equal(entry?.secretsFile, "secrets/apps/notes.yaml");
    const retention = await new Promise((resolve) => entry?.retention.apply(resolve));
    assert.deepEqual(retention, { daily: 7, weekly: 4, monthly: 6 });
  });

  it("takes the project's own backup schedule and retention over the stack's", async () => {
    const rendered = await renderApp(notes, {
      "notes:backup": { schedule: "0 2 * * *", retention: { daily: 14 } },
    });
    assert.equal(rendered.manifest("CronJob", "notes-backup").spec.schedule, "0 2 * * *");
    const env = rendered.env("CronJob", "notes-backup");
    assert.deepEqual(
      [env.BACKUP_KEEP_DAILY, env.BACKUP_KEEP_WEEKLY, env.BACKUP_KEEP_MONTHLY],
      ["14", "4", "6"],
    );
  });

  it("refuses backup settings in an app's stack file, which belong to the shared project's", async () => {
    const rendered = await renderApp(notes, { "backup:remote": "storage:elsewhere" });
    assert.match(
      rendered.errors.join("\n"),
      /sets backup:remote, but backup settings are set once per stack, in pulumi\/projects\/shared\/Pulumi\.cloud-a\.yaml/,
    );
  });
});

/** An app with two buckets, a web service that uses them through its env and a worker that does not. */
function notesWithBuckets(app: App): void {
  const uploads = app.bucket({ name: "uploads", corsOrigins: ["https://notes.internal.example.com"] });
  app.bucket({ name: "exports" });
  app.service({
    port: 8080,
    container: {
      image: "example/notes:1.0",
      env: {
        S3_ENDPOINT: uploads.endpoint,
        S3_BUCKET: uploads.bucket,
        S3_ACCESS_KEY: uploads.accessKeyId,
        S3_SECRET_KEY: uploads.secretAccessKey,
      },
    },
    exposures: [{ gateway: "private", hostname: "notes.internal.example.com" }],
  });
  app.service({ name: "notes-worker", port: 8081, container: { image: "example/notes:1.0" } });
}

describe("createApp with buckets", () => {
  it("gives the app one key for all its buckets, imported and allowed by a job in the store's namespace, with the CORS its browsers need", async () => {
    const rendered = await renderApp(notesWithBuckets);
    assert.deepEqual(rendered.errors, []);
    const env = rendered.env("Job", "notes-notes-buckets");
    assert.equal(env.BUCKETS, "notes-uploads notes-exports");
    assert.equal(env.CORS_ORIGINS, "https://notes.internal.example.com");
    assert.equal(env.KEY_NAME, "notes");
    assert.equal(env.S3_URL, "http://object-storage.object-storage.svc.cluster.local:3900");
    // The key reaches the job by reference, from a Secret in the store's namespace; the admin
    // token from the store's own Secret, never through the app's stack.
    assert.deepEqual(env.KEY_SECRET, {
      secretKeyRef: { name: "notes-notes-buckets-key", key: "secretAccessKey" },
    });
    assert.deepEqual(env.GARAGE_ADMIN_TOKEN, {
      secretKeyRef: { name: "object-storage-secrets", key: "token" },
    });
    const job = rendered.manifest("Job", "notes-notes-buckets");
    assert.equal(job.metadata.namespace, "object-storage");
  });

  it("generates the key in Garage's form, kept as a secret, and gives the service the endpoint, bucket and key", async () => {
    const rendered = await renderApp(notesWithBuckets);
    const secret = rendered.manifest("Secret", "notes-object-storage");
    assert.equal(secret.metadata.namespace, "notes");
    assert.match(secret.stringData.accessKeyId, /^GK[0-9a-f]{24}$/);
    assert.match(secret.stringData.secretAccessKey, /^[0-9a-f]{64}$/);
    // Never plain in the state: the Secret's input arrives as a secret (the SDK's wrapper).
    const inputs = rendered.resource("kubernetes:core/v1:Secret", "notes/notes-object-storage").inputs as any;
    assert.ok(
      JSON.stringify(inputs.stringData).includes(
        '"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270"',
      ),
    );
    const bytes = rendered.resource("random:index/randomBytes:RandomBytes", "notes/notes-bucket-key-secret");
    assert.equal(bytes.inputs.length, 32);
    const web = rendered.env("Deployment", "notes");
    assert.equal(web.S3_ENDPOINT, "https://s3.cloud-a.internal.example.com");
    assert.equal(web.S3_BUCKET, "notes-uploads");
    assert.deepEqual(web.S3_ACCESS_KEY, {
      secretKeyRef: { name: "notes-object-storage", key: "accessKeyId" },
    });
  });

  it("lets only the services that use a bucket reach the store, through the internal gateway's Traefik, which accepts them, and starts them after the buckets exist", async () => {
    const rendered = await renderApp(notesWithBuckets);
    const egress = rendered.manifest("CiliumNetworkPolicy", "notes-to-object-storage");
    assert.equal(egress.metadata.namespace, "notes");
    assert.deepEqual(egress.spec.endpointSelector, { matchLabels: { "app.kubernetes.io/name": "notes" } });
    assert.deepEqual(egress.spec.egress, [
      {
        toEndpoints: [
          {
            matchLabels: {
              "app.kubernetes.io/name": "traefik",
              "k8s:io.kubernetes.pod.namespace": "internal-gateway",
            },
          },
        ],
        toPorts: [{ ports: [{ port: "8443", protocol: "TCP" }] }],
      },
    ]);
    const ingress = rendered.manifest("CiliumNetworkPolicy", "traefik-from-notes");
    assert.equal(ingress.metadata.namespace, "internal-gateway");
    assert.deepEqual(ingress.spec.ingress[0].fromEndpoints, [
      { matchLabels: { "app.kubernetes.io/name": "notes", "k8s:io.kubernetes.pod.namespace": "notes" } },
    ]);
    assert.ok(rendered.dependsOn([deployment, "notes/notes"], [job, "object-storage/notes-notes-buckets"]));
    const names = rendered.manifests
      .filter((object: Record<string, any>) => object.kind === "CiliumNetworkPolicy")
      .map((object: Record<string, any>) => object.metadata.name as string);
    assert.ok(!names.some((name) => name.startsWith("notes-worker-to-object-storage")), names.join(", "));
    assert.equal(
      rendered.dependsOn([deployment, "notes/notes-worker"], [job, "object-storage/notes-notes-buckets"]),
      false,
    );
  });

  it("gives a service that reads the key from a config file the same way, when it names the bucket", async () => {
    const rendered = await renderApp((app) => {
      const media = app.bucket({ name: "media" });
      const config = app.secret({
        name: "notes-config",
        stringData: { "config.yaml": media.credentials.secretAccessKey },
      });
      app.service({
        port: 8080,
        container: { image: "example/notes:1.0", volumeMounts: [{ volume: config, mountPath: "/config" }] },
        buckets: [media],
      });
    });
    assert.deepEqual(rendered.errors, []);
    assert.ok(rendered.manifest("CiliumNetworkPolicy", "notes-to-object-storage"));
  });

  it("exports the app's buckets with its backups, which hold its volumes and database but not its objects (the store's backups do)", async () => {
    let app: App | undefined;
    const rendered = await renderApp((created) => {
      app = created;
      created.volume({ name: "data", storage: { size: "1Gi" } });
      notesWithBuckets(created);
    });
    assert.deepEqual(rendered.errors, []);
    const [entry] = app?.backups() ?? [];
    assert.deepEqual(entry?.buckets, ["notes-uploads", "notes-exports"]);
    assert.equal(rendered.env("CronJob", "notes-backup").BACKUP_VOLUMES, "data");
  });

  it("uses an external bucket instead when given one: no job or key on the store, its users reach the provider's endpoint and nothing else there", async () => {
    const rendered = await renderApp((app) => {
      const media = app.bucket({
        name: "media",
        external: {
          endpoint: "https://s3.eu-central-003.backblazeb2.com",
          region: "eu-central-003",
          bucket: "my-notes-media",
          accessKeyId: "provider-key-id",
          secretAccessKey: "provider-secret",
        },
      });
      app.service({
        port: 8080,
        container: {
          image: "example/notes:1.0",
          env: { S3_BUCKET: media.bucket, S3_ENDPOINT: media.endpoint, S3_KEY: media.accessKeyId },
        },
      });
    });
    assert.deepEqual(rendered.errors, []);
    const web = rendered.env("Deployment", "notes");
    assert.equal(web.S3_BUCKET, "my-notes-media");
    assert.equal(web.S3_ENDPOINT, "https://s3.eu-central-003.backblazeb2.com");
    assert.deepEqual(web.S3_KEY, { secretKeyRef: { name: "notes-bucket-media", key: "accessKeyId" } });
    const egress = rendered.manifest("CiliumNetworkPolicy", "notes-to-bucket-media");
    assert.deepEqual(egress.spec.egress.find((rule: Record<string, any>) => rule.toFQDNs)?.toFQDNs, [
      { matchName: "s3.eu-central-003.backblazeb2.com" },
    ]);
    const kinds = rendered.manifests.map(
      (object: Record<string, any>) => `${object.kind}/${object.metadata.name}`,
    );
    assert.ok(
      !kinds.some((kind: string) => kind.includes("buckets") || kind.includes("object-storage")),
      kinds.join(", "),
    );
  });

  it("moves a bucket to another S3 store from the project's config alone, with the key it sets as secrets", async () => {
    const external = {
      "notes:externalBuckets": {
        uploads: {
          endpoint: "https://s3.eu-central-003.backblazeb2.com",
          region: "eu-central-003",
          bucket: "my-uploads",
        },
      },
      "notes:externalBucketAccessKeyId": "provider-key-id",
      "notes:externalBucketSecretAccessKey": "provider-secret",
    };
    const rendered = await renderApp(notesWithBuckets, external, [
      "notes:externalBucketAccessKeyId",
      "notes:externalBucketSecretAccessKey",
    ]);
    assert.deepEqual(rendered.errors, []);
    const web = rendered.env("Deployment", "notes");
    assert.equal(web.S3_BUCKET, "my-uploads");
    assert.equal(web.S3_ENDPOINT, "https://s3.eu-central-003.backblazeb2.com");
    assert.deepEqual(web.S3_ACCESS_KEY, {
      secretKeyRef: { name: "notes-bucket-uploads", key: "accessKeyId" },
    });
    assert.equal(
      rendered.manifest("Secret", "notes-bucket-uploads").stringData.secretAccessKey,
      "provider-secret",
    );
    // The other bucket stays on the server's store; the web service uses only the external one.
    assert.equal(rendered.env("Job", "notes-notes-buckets").BUCKETS, "notes-exports");
    assert.ok(rendered.manifest("CiliumNetworkPolicy", "notes-to-bucket-uploads"));
    const names = rendered.manifests.map((object: Record<string, any>) => object.metadata.name as string);
    assert.ok(!names.includes("notes-to-object-storage"), names.join(", "));

    const withoutKey = await renderApp(notesWithBuckets, {
      "notes:externalBuckets": external["notes:externalBuckets"],
    });
    assert.match(
      withoutKey.errors.join("\n"),
      /sets notes:externalBuckets but not the key its app uses there: pulumi config set --secret externalBucketAccessKeyId <value> --stack cloud-a; pulumi config set --secret externalBucketSecretAccessKey <value> --stack cloud-a/,
    );
    const plain = await renderApp(notesWithBuckets, external);
    assert.match(plain.errors.join("\n"), /externalBucketAccessKeyId.*plain text/);
    const unknown = await renderApp(
      notesWithBuckets,
      { ...external, "notes:externalBuckets": { photos: external["notes:externalBuckets"].uploads } },
      ["notes:externalBucketAccessKeyId", "notes:externalBucketSecretAccessKey"],
    );
    assert.match(
      unknown.errors.join("\n"),
      /sets notes:externalBuckets\.photos, which names no bucket of notes \(its buckets: uploads, exports\)/,
    );
  });

  it("refuses a bucket created after the app's first service, whose job could not make it", async () => {
    const rendered = await renderApp((app) => {
      app.service({ port: 8080, container: { image: "example/notes:1.0" } });
      app.bucket({ name: "late" });
    });
    assert.match(rendered.errors.join("\n"), /bucket late is created after the app's first service or job/);
  });
});

describe("createApp where pulumi/placement.yaml puts the app", () => {
  const snapshot = "5".repeat(64);
  const migration = (done: string, dns: string) =>
    placementFile({
      notes: {
        server: "cloud-a",
        migration: { to: "cloud-b", done, dns, snapshot, started: "2026-12-03T10:00:00Z" },
      },
    });
  const writeNotes = (app: App) => {
    app.volume({ name: "data", storage: { size: "1Gi" } });
    app.service({
      port: 8080,
      container: { image: "example/notes:1.0" },
      exposures: [{ gateway: "private", hostname: "notes.internal.example.com" }],
      tailnetPorts: {
        address: "syncthing",
        hostname: "sync.internal.example.com",
        ports: [
          { name: "sync-tcp", port: 22000 },
          { name: "sync-udp", port: 22000, protocol: "UDP" },
        ],
      },
    });
  };
  /** The names the stack holds: the private ones it records for the private DNS, and any Cloudflare record. */
  const records = (rendered: RenderedApp) =>
    [
      ...rendered.privateNames.map((name) => `${name.hostname} ${name.address}`),
      ...rendered.publicRecords.map((record) => `${record.name} (Cloudflare)`),
    ].sort();
  const heldHere = ["notes.internal.example.com 10.43.0.53", "sync.internal.example.com 10.43.0.54"];

  it("runs the app's pods and holds its private names on its server, recorded for the private DNS, none at Cloudflare", async () => {
    const rendered = await renderApp(writeNotes);
    assert.deepEqual(rendered.errors, []);
    assert.equal(rendered.manifest("Deployment", "notes").spec.replicas, 1);
    assert.equal(rendered.manifest("CronJob", "notes-backup").spec.suspend, undefined);
    assert.equal(rendered.env("CronJob", "notes-final-backup").BACKUP_FINAL_READ_DATA_SUBSET, undefined);
    assert.deepEqual(records(rendered), heldHere);
  });

  it("runs no pod of the source of a migration, which keeps its private names until the migration moves them", async () => {
    const stopped = await renderApp(writeNotes, {}, [], migration("stop", "source"));
    assert.equal(stopped.manifest("Deployment", "notes").spec.replicas, 0);
    // Its final backup stays the newest snapshot: the scheduled one waits.
    assert.equal(stopped.manifest("CronJob", "notes-backup").spec.suspend, true);
    // The target's restore reads the final snapshot back: the final backup need not first.
    assert.equal(stopped.env("CronJob", "notes-final-backup").BACKUP_FINAL_READ_DATA_SUBSET, "");
    assert.equal(stopped.env("CronJob", "notes-final-backup").BACKUP_REASON, "final");
    assert.deepEqual(records(stopped), heldHere);
    const between = await renderApp(writeNotes, {}, [], migration("restore", "none"));
    assert.equal(between.manifest("Deployment", "notes").spec.replicas, 0);
    assert.deepEqual(records(between), []);
  });

  it("restores exactly the verified final snapshot on a migration's target, which records no private name while the source holds them", async () => {
    const target = placementFile({
      notes: {
        server: "cloud-b",
        migration: {
          to: "cloud-a",
          done: "verify",
          dns: "source",
          snapshot,
          started: "2026-12-03T10:00:00Z",
        },
      },
    });
    const rendered = await renderApp(writeNotes, {}, [], target);
    assert.equal(rendered.env("Job", "notes-restore").RESTORE_SNAPSHOT, snapshot);
    assert.equal(rendered.env("Job", "notes-restore").RESTORE_FORCE_HOLD, undefined);
    assert.equal(rendered.env("CronJob", "notes-backup").BACKUP_SERVER, "cloud-a");
    assert.equal(rendered.env("CronJob", "notes-backup").RESTORE_SNAPSHOT, undefined);
    assert.equal(rendered.manifest("Deployment", "notes").spec.replicas, 1);
    assert.deepEqual(records(rendered), []);
  });

  it("refuses to create the app on a stack it is not placed on", async () => {
    const rendered = await renderApp(writeNotes, {}, [], placementFile({ notes: "cloud-b" }));
    assert.match(
      rendered.errors.join("\n"),
      /App notes is not placed on stack cloud-a \(pulumi\/placement.yaml\)/,
    );
    assert.deepEqual(rendered.manifests, []);
  });
});

describe("readAppConfig", () => {
  const schema = z.object({ signupsAllowed: z.boolean().default(false), hostname: z.string().optional() });

  async function read(config: Record<string, unknown>, secretKeys: string[] = []) {
    let result: unknown;
    const rendered = await render(
      () => {
        result = readAppConfig(schema, ["smtpPassword"]);
      },
      { project: "notes", stack: "cloud-a", config, secretKeys },
    );
    return { result, errors: rendered.errors };
  }

  it("reads each key of the schema, with its default", async () => {
    const { result, errors } = await read({ "notes:hostname": "notes.example.com" });
    assert.deepEqual(errors, []);
    assert.deepEqual((result as { settings: unknown }).settings, {
      signupsAllowed: false,
      hostname: "notes.example.com",
    });
  });

  it("fails on a key the project does not read, instead of ignoring a typo, naming the key it meant", async () => {
    const { errors } = await read({ "notes:sigupsAllowed": true });
    assert.match(
      errors.join("\n"),
      /Invalid config for stack "cloud-a" \(Pulumi\.cloud-a\.yaml of project "notes"\):\n {2}notes:sigupsAllowed is not a setting; did you mean notes:signupsAllowed\?/,
    );
  });

  it("lists the keys it reads when a key is like none of them", async () => {
    const { errors } = await read({ "notes:zzz": true });
    assert.match(
      errors.join("\n"),
      /notes:zzz is not a setting \(notes reads: backup, externalBucketAccessKeyId, externalBucketSecretAccessKey, externalBuckets, hostname, signupsAllowed, smtpPassword\)/,
    );
  });

  it("keeps a configured secret secret and refuses one stored in plain text", async () => {
    const secret = await read({ "notes:smtpPassword": "pw" }, ["notes:smtpPassword"]);
    assert.deepEqual(secret.errors, []);
    const plain = await read({ "notes:smtpPassword": "pw" });
    assert.match(plain.errors.join("\n"), /"notes:smtpPassword" of stack "cloud-a" is stored in plain text/);
  });
});
