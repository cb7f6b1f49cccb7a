import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createNamespace, createWorkloadService } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";
import { exposeInternalHttpService, exposePublicHttpService } from "./exposure";

const recordType = "cloudflare:index/dnsRecord:DnsRecord";
const gatewayExports = (gatewayClass: string, namespace: string) => ({
  gatewayClass,
  namespace,
  podLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik" },
  listenerPorts: { http: 8000, https: 8443 },
});
const stackExports = {
  shared: {
    cloudflare: { zoneId: "0123456789abcdef0123456789abcdef" },
    cloudflareApiToken: "cf-token",
  },
  "cert-manager": { issuers: { public: "public", plain: "plain" }, namespace: "cert-manager" },
  "internal-gateway": { ...gatewayExports("internal", "internal-gateway"), clusterIp: "10.43.0.53" },
  "public-gateway": { ...gatewayExports("public", "public-gateway"), publicIp: "203.0.113.10" },
};

/** One program: `notes` exposed privately, `blog` publicly, and a chart's Service under a path. */
async function renderExposures(): Promise<RenderedProgram> {
  const rendered = await render(
    () => {
      const provider = new k8s.Provider("cluster", { context: "cloud-a" });
      const notes = createNamespace({ name: "notes", provider });
      exposeInternalHttpService({
        name: "notes",
        namespace: notes,
        service: createWorkloadService({
          name: "notes",
          namespace: notes,
          port: 8080,
          container: { image: "notes:1" },
        }),
        hostname: "notes.cloud-a.example.com",
      });
      const blog = createNamespace({ name: "blog", provider });
      exposePublicHttpService({
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
        hostname: "tools.cloud-a.example.com",
        pathPrefixes: ["/grafana"],
      });
    },
    { project: "notes", stack: "cloud-a", stackExports },
  );
  assert.deepEqual(rendered.errors, []);
  return rendered;
}

function dnsRecord(rendered: RenderedProgram, name: string): Record<string, any> {
  const record = rendered.resources.find(
    (resource) => resource.type === recordType && resource.inputs.name === name,
  );
  assert.ok(record, `no DNS record ${name}`);
  return record.inputs;
}

describe("exposeInternalHttpService and exposePublicHttpService", () => {
  let rendered: RenderedProgram;
  const inNamespace = (kind: string, name: string, namespace: string) => {
    const found = rendered.manifests.find(
      (object: Record<string, any>) =>
        object.kind === kind && object.metadata?.name === name && object.metadata?.namespace === namespace,
    );
    assert.ok(found, `no ${kind} ${namespace}/${name}`);
    return found as Record<string, any>;
  };

  before(async () => {
    rendered = await renderExposures();
  });

  it("issues the app's certificate from the public ClusterIssuer into the app's namespace", () => {
    const certificate = inNamespace("Certificate", "notes", "notes");
    assert.deepEqual(certificate.spec, {
      secretName: "notes-tls",
      dnsNames: ["notes.cloud-a.example.com"],
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "public" },
    });
  });

  it("creates a Gateway of the gateway's class with an HTTPS listener that terminates TLS with the certificate's Secret", () => {
    const internal = inNamespace("Gateway", "notes", "notes");
    const external = inNamespace("Gateway", "blog", "blog");
    assert.equal(internal.spec.gatewayClassName, "internal");
    assert.equal(external.spec.gatewayClassName, "public");
    const https = internal.spec.listeners.find((listener: Record<string, any>) => listener.name === "https");
    assert.deepEqual(https, {
      name: "https",
      protocol: "HTTPS",
      // Traefik's websecure entrypoint port, as the gateway project exports it.
      port: 8443,
      hostname: "notes.cloud-a.example.com",
      tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "notes-tls" }] },
      allowedRoutes: { namespaces: { from: "Same" } },
    });
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
    assert.deepEqual(route.spec.hostnames, ["notes.cloud-a.example.com"]);
    assert.deepEqual(route.spec.rules, [
      {
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        backendRefs: [{ group: "", kind: "Service", name: "notes", port: 8080 }],
      },
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

  it("points a private app's name at the internal gateway's cluster IP, not proxied", () => {
    const record = dnsRecord(rendered, "notes.cloud-a.example.com");
    assert.equal(record.type, "A");
    assert.equal(record.content, "10.43.0.53");
    assert.equal(record.proxied, false);
    assert.equal(record.zoneId, "0123456789abcdef0123456789abcdef");
  });

  it("points a public app's name at the server's public address, proxied by Cloudflare", () => {
    const record = dnsRecord(rendered, "blog.example.com");
    assert.equal(record.type, "A");
    assert.equal(record.content, "203.0.113.10");
    assert.equal(record.proxied, true);
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
