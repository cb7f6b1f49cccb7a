import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { type AppServiceArgs, createAppService, defaultAppResources } from "./service";

/** What a service of app `notes` renders with `args`. */
async function renderService(args: AppServiceArgs) {
  const rendered = await render(() => {
    const provider = new k8s.Provider("cluster", { context: "test" });
    const component = new pulumi.ComponentResource("homelab:apps:App", "notes", {}, {});
    const namespace = createNamespace({ name: "notes", provider, options: { parent: component } });
    createAppService({
      app: "notes",
      namespace,
      component,
      provider,
      databases: [],
      backups: undefined,
      user: { user: 1000, group: 1000 },
      jobs: [],
      reachPolicies: [],
      here: { stopped: false, dnsRecords: true },
      args,
    });
  });
  assert.deepEqual(rendered.errors, []);
  return rendered;
}

/** The containers of the Deployment `notes` a service of app `notes` renders with `args`. */
async function containers(args: AppServiceArgs): Promise<Record<string, any>[]> {
  const spec = (await renderService(args)).manifest("Deployment", "notes").spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers];
}

describe("an app's service", () => {
  it("gives every container that sets no resources the kit's default: a reservation and a memory ceiling, no CPU limit", async () => {
    const rendered = await containers({
      port: 8080,
      initContainers: [{ name: "migrate", image: "example/notes:1.2.3" }],
      container: { image: "example/notes:1.2.3" },
      sidecars: [{ name: "exporter", image: "example/exporter:0.1.0" }],
    });
    assert.deepEqual(
      rendered.map((container) => [container.name, container.resources]),
      [
        ["migrate", { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } }],
        ["notes", { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } }],
        ["exporter", { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "512Mi" } }],
      ],
    );
    assert.deepEqual(defaultAppResources, {
      requests: { cpu: "10m", memory: "64Mi" },
      limits: { memory: "512Mi" },
    });
  });

  it("keeps the resources a container sets itself", async () => {
    const [main] = await containers({
      port: 8080,
      container: {
        image: "example/notes:1.2.3",
        resources: { requests: { cpu: "100m", memory: "1Gi" }, limits: { memory: "2Gi", cpu: "500m" } },
      },
    });
    assert.deepEqual(main?.resources, {
      requests: { cpu: "100m", memory: "1Gi" },
      limits: { memory: "2Gi", cpu: "500m" },
    });
  });

  it("speaks HTTP/2 cleartext to the pods when its port is h2c, marking the Service port for the gateways", async () => {
    const rendered = await renderService({
      port: 8080,
      protocol: "h2c",
      container: { image: "example/api:1.0" },
    });
    assert.deepEqual(rendered.manifest("Service", "notes").spec.ports, [
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
    ]);
    const plain = await renderService({ port: 8080, container: { image: "example/api:1.0" } });
    assert.equal(plain.manifest("Service", "notes").spec.ports[0].appProtocol, undefined);
  });
});
