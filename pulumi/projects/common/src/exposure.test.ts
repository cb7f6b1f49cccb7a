import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createNamespace, createWorkloadService } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";
import {
  createHttpExposure,
  exposeInternalHttpService,
  exposePublicHttpService,
  type HttpExposure,
} from "./exposure";
import { type PrivateName, recordedPrivateNames } from "./recorded-exposures";

const recordType = "cloudflare:index/dnsRecord:DnsRecord";
const gatewayExports = (gatewayClass: string, namespace: string, servedNamespaces: string[]) => ({
  gatewayClass,
  namespace,
  podLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik" },
  serviceAccount: "traefik",
  servedNamespaces,
  listenerPorts: { http: 8000, https: 8443 },
});
const stackExports = {
  shared: {
    cloudflare: { zoneId: "0123456789abcdef0123456789abcdef" },
    cloudflareApiToken: "cf-token",
    server: { name: "cloud-a", kubeContext: "cloud-a" },
    domain: "example.com",
    privateDomain: "internal.example.com",
  },
  cilium: {},
  "cert-manager": { issuers: { public: "public", plain: "plain" }, namespace: "cert-manager" },
  "internal-gateway": {
    ...gatewayExports("internal", "internal-gateway", ["notes", "tools"]),
    clusterIp: "10.43.0.53",
    wildcardCertificate: { namespace: "internal-gateway-tls", secretName: "private-wildcard-tls" },
  },
  "public-gateway": {
    ...gatewayExports("public", "public-gateway", ["blog"]),
    publicIp: "203.0.113.10",
    strictTransportSecurity: "max-age=31536000",
  },
};

/** The private names the program recorded for the private DNS (the `privateNames` output of a program run). */
async function privateNamesRecorded(): Promise<PrivateName[]> {
  return new Promise((resolve) => recordedPrivateNames().apply(resolve));
}

/** A program rendered, with the private names it recorded (the kit records them for the whole process). */
async function renderRecording(
  program: () => void,
  project: string,
): Promise<{ rendered: RenderedProgram; privateNames: PrivateName[] }> {
  const before = (await privateNamesRecorded()).length;
  const rendered = await render(program, { project, stack: "cloud-a", stackExports });
  return { rendered, privateNames: (await privateNamesRecorded()).slice(before) };
}

/** What the exposures of `renderExposures` returned, by name. */
const returned = new Map<string, HttpExposure>();

/**
 * One program: `notes` exposed privately, `blog` publicly, and a chart's Service under a path,
 * privately; with the private names it recorded.
 */
async function renderExposures(): Promise<{ rendered: RenderedProgram; privateNames: PrivateName[] }> {
  const result = await renderRecording(() => {
    const provider = new k8s.Provider("cluster", { context: "cloud-a" });
    const notes = createNamespace({ name: "notes", provider });
    const exposedNotes = exposeInternalHttpService({
      name: "notes",
      namespace: notes,
      service: createWorkloadService({
        name: "notes",
        namespace: notes,
        port: 8080,
        container: { image: "notes:1" },
      }),
      hostname: "notes.cloud-a.internal.example.com",
    });
    returned.set("notes", exposedNotes);
    const blog = createNamespace({ name: "blog", provider });
    const exposedBlog = exposePublicHttpService({
      name: "blog",
      namespace: blog,
      service: createWorkloadService({
        name: "blog",
        namespace: blog,
        port: 2368,
        container: { image: "blog:1" },
      }),
      hostname: "blog.example.com",
    });
    returned.set("blog", exposedBlog);
    const tools = createNamespace({ name: "tools", provider });
    exposeInternalHttpService({
      name: "grafana",
      namespace: tools,
      service: {
        name: "grafana",
        port: 80,
        targetPort: 3000,
        selector: { "app.kubernetes.io/name": "grafana" },
      },
      hostname: "tools.cloud-a.internal.example.com",
      pathPrefixes: ["/grafana"],
    });
  }, "notes");
  assert.deepEqual(result.rendered.errors, []);
  return result;
}

/** The Cloudflare records a program created. */
function dnsRecords(rendered: RenderedProgram): Record<string, any>[] {
  return rendered.resources.filter((resource) => resource.type === recordType).map((record) => record.inputs);
}

function dnsRecord(rendered: RenderedProgram, name: string): Record<string, any> {
  const record = dnsRecords(rendered).find((inputs) => inputs.name === name);
  assert.ok(record, `no DNS record ${name}`);
  return record;
}

/** The server's wildcard certificate's Secret, as a private listener refers to it. */
const wildcardCertificateRef = {
  group: "",
  kind: "Secret",
  name: "private-wildcard-tls",
  namespace: "internal-gateway-tls",
};

describe("exposeInternalHttpService and exposePublicHttpService", () => {
  let rendered: RenderedProgram;
  let privateNames: PrivateName[];
  const inNamespace = (kind: string, name: string, namespace: string) => {
    const found = rendered.manifests.find(
      (object: Record<string, any>) =>
        object.kind === kind && object.metadata?.name === name && object.metadata?.namespace === namespace,
    );
    assert.ok(found, `no ${kind} ${namespace}/${name}`);
    return found as Record<string, any>;
  };

  before(async () => {
    ({ rendered, privateNames } = await renderExposures());
  });

  it("issues a public app's certificate from the public ClusterIssuer into the app's namespace", () => {
    const certificate = inNamespace("Certificate", "blog", "blog");
    assert.deepEqual(certificate.spec, {
      secretName: "blog-tls",
      dnsNames: ["blog.example.com"],
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "public" },
    });
    assert.equal(returned.get("blog")?.tls.kind, "own");
  });

  it("issues no certificate for a private name, so no Certificate Transparency log ever lists it", () => {
    const certificates = rendered.manifests.filter((object) => object.kind === "Certificate") as Record<
      string,
      any
    >[];
    assert.deepEqual(
      certificates.map((certificate) => `${certificate.metadata.namespace}/${certificate.metadata.name}`),
      ["blog/blog"],
    );
    assert.equal(JSON.stringify(certificates).includes("internal.example.com"), false);
    assert.equal(returned.get("notes")?.tls.kind, "wildcard");
  });

  it("creates a Gateway of the gateway's class whose HTTPS listener terminates TLS with the public app's own certificate's Secret", () => {
    const internal = inNamespace("Gateway", "notes", "notes");
    const external = inNamespace("Gateway", "blog", "blog");
    assert.equal(internal.spec.gatewayClassName, "internal");
    assert.equal(external.spec.gatewayClassName, "public");
    const https = external.spec.listeners.find((listener: Record<string, any>) => listener.name === "https");
    assert.deepEqual(https, {
      name: "https",
      protocol: "HTTPS",
      // Traefik's websecure entrypoint port, as the gateway project exports it.
      port: 8443,
      hostname: "blog.example.com",
      tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "blog-tls" }] },
      allowedRoutes: { namespaces: { from: "Same" } },
    });
  });

  it("terminates a private app's TLS with the server's wildcard certificate, in the internal gateway's TLS namespace", () => {
    for (const [name, namespace, hostname] of [
      ["notes", "notes", "notes.cloud-a.internal.example.com"],
      ["grafana", "tools", "tools.cloud-a.internal.example.com"],
    ] as const) {
      const gateway = inNamespace("Gateway", name, namespace);
      const https = gateway.spec.listeners.find((listener: Record<string, any>) => listener.name === "https");
      assert.deepEqual(https, {
        name: "https",
        protocol: "HTTPS",
        port: 8443,
        hostname,
        tls: { mode: "Terminate", certificateRefs: [wildcardCertificateRef] },
        allowedRoutes: { namespaces: { from: "Same" } },
      });
    }
  });

  it("grants the Gateways of a private app's namespace, and nothing else, the wildcard certificate's Secret", () => {
    // Named after the exposure, prefixed by its namespace unless they are the same.
    const grants = rendered.manifests.filter((object) => object.kind === "ReferenceGrant") as Record<
      string,
      any
    >[];
    assert.deepEqual(grants.map((grant) => `${grant.metadata.namespace}/${grant.metadata.name}`).sort(), [
      "internal-gateway-tls/notes",
      "internal-gateway-tls/tools-grafana",
    ]);
    const notes = inNamespace("ReferenceGrant", "notes", "internal-gateway-tls");
    assert.equal(notes.apiVersion, "gateway.networking.k8s.io/v1beta1");
    assert.deepEqual(notes.spec, {
      from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "notes" }],
      to: [{ group: "", kind: "Secret", name: "private-wildcard-tls" }],
    });
    assert.deepEqual(inNamespace("ReferenceGrant", "tools-grafana", "internal-gateway-tls").spec.from, [
      { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "tools" },
    ]);
    const notesTls = returned.get("notes")?.tls;
    assert.ok(notesTls?.kind === "wildcard" && notesTls.referenceGrant);
  });

  it("gives the HTTP listener one route only: a redirect to HTTPS", () => {
    const gateway = inNamespace("Gateway", "notes", "notes");
    const http = gateway.spec.listeners.find((listener: Record<string, any>) => listener.name === "http");
    assert.equal(http.protocol, "HTTP");
    assert.equal(http.port, 8000);
    const routesOnHttp = rendered.manifests.filter(
      (object: Record<string, any>) =>
        object.kind === "HTTPRoute" &&
        object.metadata.namespace === "notes" &&
        object.spec.parentRefs.some(
          (ref: Record<string, any>) => ref.name === "notes" && ref.sectionName === "http",
        ),
    ) as Record<string, any>[];
    assert.equal(routesOnHttp.length, 1);
    assert.deepEqual(routesOnHttp[0]?.spec.rules, [
      { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
    ]);
  });

  it("routes the HTTPS listener's requests for the hostname to the Service", () => {
    const route = inNamespace("HTTPRoute", "notes", "notes");
    assert.deepEqual(route.spec.parentRefs, [
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "notes", sectionName: "https" },
    ]);
    assert.deepEqual(route.spec.hostnames, ["notes.cloud-a.internal.example.com"]);
    assert.deepEqual(route.spec.rules, [
      {
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        backendRefs: [{ group: "", kind: "Service", name: "notes", port: 8080 }],
      },
    ]);
  });

  it("sends the public gateway's Strict-Transport-Security header on every answer of a public app's HTTPS route", () => {
    const route = inNamespace("HTTPRoute", "blog", "blog");
    assert.deepEqual(route.spec.rules, [
      {
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        filters: [
          {
            type: "ResponseHeaderModifier",
            responseHeaderModifier: {
              set: [{ name: "Strict-Transport-Security", value: "max-age=31536000" }],
            },
          },
        ],
        backendRefs: [{ group: "", kind: "Service", name: "blog", port: 2368 }],
      },
    ]);
    // Browsers ignore HSTS over plain HTTP (RFC 6797, 8.1): the redirect sends none.
    assert.equal(
      JSON.stringify(inNamespace("HTTPRoute", "blog-http-redirect", "blog").spec).includes(
        "Strict-Transport",
      ),
      false,
    );
  });

  it("lets the gateway's Traefik account read what it serves in the app's namespace, and write only this exposure's status", () => {
    const role = inNamespace("Role", "internal-gateway-notes", "notes");
    const statusNames = (resource: string) =>
      role.rules.find((rule: Record<string, any>) => rule.resources.includes(resource))?.resourceNames;
    assert.deepEqual(statusNames("gateways/status"), ["notes"]);
    assert.deepEqual(statusNames("httproutes/status"), ["notes", "notes-http-redirect"]);
    const binding = inNamespace("RoleBinding", "internal-gateway-notes", "notes");
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "traefik", namespace: "internal-gateway" },
    ]);
    const external = inNamespace("RoleBinding", "public-gateway-blog", "blog");
    assert.deepEqual(external.subjects, [
      { kind: "ServiceAccount", name: "traefik", namespace: "public-gateway" },
    ]);
  });

  it("lets the gateway's Traefik pods send to exactly the exposed pods on their port, from a policy in the gateway's namespace", () => {
    const internal = inNamespace("CiliumNetworkPolicy", "traefik-to-notes", "internal-gateway");
    assert.deepEqual(internal.spec.endpointSelector, {
      matchLabels: { "app.kubernetes.io/name": "traefik" },
    });
    assert.deepEqual(internal.spec.egress, [
      {
        toEndpoints: [
          { matchLabels: { "app.kubernetes.io/name": "notes", "k8s:io.kubernetes.pod.namespace": "notes" } },
        ],
        toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }],
      },
    ]);
    assert.equal(internal.spec.ingress, undefined);
    const byReference = inNamespace("CiliumNetworkPolicy", "traefik-to-tools-grafana", "internal-gateway");
    assert.deepEqual(byReference.spec.egress, [
      {
        toEndpoints: [
          {
            matchLabels: { "app.kubernetes.io/name": "grafana", "k8s:io.kubernetes.pod.namespace": "tools" },
          },
        ],
        toPorts: [{ ports: [{ port: "3000", protocol: "TCP" }] }],
      },
    ]);
    assert.ok(inNamespace("CiliumNetworkPolicy", "traefik-to-blog", "public-gateway"));
  });

  it("warns, without failing, when the gateway does not serve the app's namespace yet", async () => {
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    pulumi.log.warn = async (message: string) => {
      warnings.push(message);
    };
    try {
      const unserved = await render(
        () => {
          const provider = new k8s.Provider("cluster", { context: "cloud-a" });
          // The internal gateway serves notes and tools only.
          const drafts = createNamespace({ name: "drafts", provider });
          exposeInternalHttpService({
            name: "drafts",
            namespace: drafts,
            service: { name: "drafts", port: 8080, selector: { "app.kubernetes.io/name": "drafts" } },
            hostname: "drafts.cloud-a.internal.example.com",
          });
        },
        { project: "drafts", stack: "cloud-a", stackExports },
      );
      assert.deepEqual(unserved.errors, []);
    } finally {
      pulumi.log.warn = warn;
    }
    assert.deepEqual(warnings, [
      'The internal-gateway\'s Traefik does not serve namespace "drafts" yet: add it to ' +
        'internal-gateway:servedNamespaces on stack "cloud-a" and deploy internal-gateway.',
    ]);
  });

  it("routes only the path prefix it is given, to the Service's port", () => {
    const route = inNamespace("HTTPRoute", "grafana", "tools");
    assert.deepEqual(route.spec.rules, [
      {
        matches: [{ path: { type: "PathPrefix", value: "/grafana" } }],
        backendRefs: [{ group: "", kind: "Service", name: "grafana", port: 80 }],
      },
    ]);
  });

  it("publishes no private name at Cloudflare: the public app's is the only record", () => {
    assert.deepEqual(
      dnsRecords(rendered).map((record) => record.name),
      ["blog.example.com"],
    );
    assert.equal(returned.get("notes")?.dnsRecord, undefined);
  });

  it("records each private name for the tailnet's private DNS, at the internal gateway's cluster IP", () => {
    assert.deepEqual(privateNames, [
      { hostname: "notes.cloud-a.internal.example.com", address: "10.43.0.53" },
      { hostname: "tools.cloud-a.internal.example.com", address: "10.43.0.53" },
    ]);
  });

  it("points a public app's name at the server's public address, proxied by Cloudflare", () => {
    const record = dnsRecord(rendered, "blog.example.com");
    assert.equal(record.type, "A");
    assert.equal(record.content, "203.0.113.10");
    assert.equal(record.proxied, true);
    assert.equal(record.zoneId, "0123456789abcdef0123456789abcdef");
    assert.ok(returned.get("blog")?.dnsRecord);
  });

  it("neither records a private name nor publishes a public one while another stack holds them (dnsRecord: false)", async () => {
    const held: HttpExposure[] = [];
    const { rendered: migrating, privateNames: recorded } = await renderRecording(() => {
      const provider = new k8s.Provider("cluster", { context: "cloud-a" });
      for (const [name, gateway, hostname] of [
        ["notes", "private", "notes.cloud-a.internal.example.com"],
        ["blog", "public", "blog.example.com"],
      ] as const) {
        const namespace = createNamespace({ name, provider });
        held.push(
          createHttpExposure({
            name,
            namespace,
            gateway,
            service: { name, port: 8080 },
            hostname,
            dnsRecord: false,
          }),
        );
      }
    }, "migrating");
    assert.deepEqual(migrating.errors, []);
    assert.deepEqual(recorded, []);
    assert.deepEqual(dnsRecords(migrating), []);
    assert.deepEqual(
      held.map((exposure) => [exposure.tls.kind, exposure.dnsRecord]),
      [
        ["wildcard", undefined],
        ["own", undefined],
      ],
    );
    // The rest of the exposure is there: the gateway serves it as soon as the name points here.
    assert.ok(migrating.manifest("ReferenceGrant", "notes"));
    assert.ok(migrating.manifest("Certificate", "blog"));
  });

  it("names the owning project and stack in the record's comment", () => {
    assert.equal(dnsRecord(rendered, "blog.example.com").comment, "Managed by Pulumi: notes/cloud-a");
  });

  it("lets exactly the gateway's Traefik pods reach the Service's pods on the Service's target port", () => {
    const internal = inNamespace("CiliumNetworkPolicy", "notes-from-internal-gateway", "notes");
    assert.deepEqual(internal.spec.endpointSelector, { matchLabels: { "app.kubernetes.io/name": "notes" } });
    assert.deepEqual(internal.spec.ingress, [
      {
        fromEndpoints: [
          {
            matchLabels: {
              "app.kubernetes.io/name": "traefik",
              "k8s:io.kubernetes.pod.namespace": "internal-gateway",
            },
          },
        ],
        toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }],
      },
    ]);
    assert.equal(internal.spec.egress, undefined);
    const external = inNamespace("CiliumNetworkPolicy", "blog-from-public-gateway", "blog");
    assert.equal(
      external.spec.ingress[0].fromEndpoints[0].matchLabels["k8s:io.kubernetes.pod.namespace"],
      "public-gateway",
    );
  });

  it("opens the target port of a Service given by reference, on the pods its selector picks", () => {
    const policy = inNamespace("CiliumNetworkPolicy", "grafana-from-internal-gateway", "tools");
    assert.deepEqual(policy.spec.endpointSelector, { matchLabels: { "app.kubernetes.io/name": "grafana" } });
    assert.deepEqual(policy.spec.ingress[0].toPorts, [{ ports: [{ port: "3000", protocol: "TCP" }] }]);
  });

  it("renders objects the vendored schemas accept", async () => {
    for (const object of rendered.manifests) {
      assert.deepEqual(
        await validateObjectSchema(object),
        [],
        `${object.kind} ${(object.metadata as any)?.name}`,
      );
    }
  });
});
