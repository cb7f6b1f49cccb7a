import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { identityLabel } from "./metadata";
import { createNamespace } from "./namespace";
import { createService, createWorkloadService } from "./service";
import { createWorkload } from "./workload";

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

describe("createWorkloadService", () => {
  it("selects exactly the workload's selector, which matches the pod labels", async () => {
    const { manifest } = await render(() =>
      createWorkloadService({
        name: "web",
        namespace: namespaceOnCluster(),
        port: 8080,
        labels: { team: "media" },
        podLabels: { tier: "frontend" },
        container: { image: "nginx:1.27" },
      }),
    );
    const service = manifest("Service", "web");
    const deployment = manifest("Deployment", "web");
    assert.deepEqual(service.spec.selector, { [identityLabel]: "web" });
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    for (const [key, value] of Object.entries(service.spec.selector)) {
      assert.equal(deployment.spec.template.metadata.labels[key], value, `pods lack ${key}=${value}`);
    }
  });

  it("targets the named container port the workload declares", async () => {
    const { manifest } = await render(() =>
      createWorkloadService({
        name: "web",
        namespace: namespaceOnCluster(),
        port: 8080,
        container: { image: "nginx:1.27" },
      }),
    );
    const [servicePort] = manifest("Service", "web").spec.ports;
    assert.deepEqual(servicePort, { name: "http", port: 8080, targetPort: "http", protocol: "TCP" });
    const [container] = manifest("Deployment", "web").spec.template.spec.containers;
    assert.deepEqual(container.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
  });

  it("names the port as asked and keeps the container's other ports", async () => {
    const { manifest } = await render(() =>
      createWorkloadService({
        name: "dns",
        namespace: namespaceOnCluster(),
        port: 5380,
        portName: "admin",
        container: {
          image: "technitium/dns-server:13.6.0",
          ports: [{ name: "dns", port: 53, protocol: "UDP" }],
        },
      }),
    );
    assert.equal(manifest("Service", "dns").spec.ports[0].targetPort, "admin");
    assert.deepEqual(manifest("Deployment", "dns").spec.template.spec.containers[0].ports, [
      { name: "admin", containerPort: 5380, protocol: "TCP" },
      { name: "dns", containerPort: 53, protocol: "UDP" },
    ]);
  });

  it("creates a ClusterIP Service in the workload's namespace with the user labels", async () => {
    const { manifest } = await render(() =>
      createWorkloadService({
        name: "web",
        namespace: namespaceOnCluster(),
        port: 8080,
        labels: { team: "media" },
        container: { image: "nginx:1.27" },
      }),
    );
    const service = manifest("Service", "web");
    assert.equal(service.spec.type, "ClusterIP");
    assert.equal(service.metadata.namespace, "apps");
    assert.equal(service.metadata.labels.team, "media");
    assert.equal(service.metadata.labels[identityLabel], "web");
  });
});

describe("createService", () => {
  it("renders a headless Service of a StatefulSet with its ports", async () => {
    const { manifest } = await render(() => {
      const workload = createWorkload({
        name: "db",
        kind: "StatefulSet",
        namespace: namespaceOnCluster(),
        container: { image: "postgres:17.5", ports: [{ name: "postgres", port: 5432 }] },
      });
      createService({
        name: "db",
        workload,
        headless: true,
        ports: [{ name: "postgres", port: 5432, targetPort: "postgres" }],
      });
    });
    const service = manifest("Service", "db");
    assert.equal(service.spec.clusterIP, "None");
    assert.deepEqual(service.spec.selector, manifest("StatefulSet", "db").spec.selector.matchLabels);
    assert.deepEqual(service.spec.ports, [
      { name: "postgres", port: 5432, targetPort: "postgres", protocol: "TCP" },
    ]);
  });

  it("targets the Service port itself when no target port is given", async () => {
    const { manifest } = await render(() => {
      const workload = createWorkload({
        name: "web",
        namespace: namespaceOnCluster(),
        container: { image: "nginx:1.27" },
      });
      createService({
        name: "web-nodeport",
        workload,
        type: "NodePort",
        ports: [{ name: "http", port: 80 }],
      });
    });
    const service = manifest("Service", "web-nodeport");
    assert.equal(service.spec.type, "NodePort");
    assert.equal(service.spec.ports[0].targetPort, 80);
    assert.equal("clusterIP" in service.spec, false);
    // A second Service still selects the workload's pods, not its own name.
    assert.deepEqual(service.spec.selector, { [identityLabel]: "web" });
  });
});
