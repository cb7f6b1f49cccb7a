import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { createConfigMap } from "./config-map";
import { identityLabel } from "./metadata";
import { createNamespace } from "./namespace";
import { createPersistentVolumeClaim } from "./persistent-volume-claim";
import { emptyDir } from "./volumes";
import { createWorkload, type WorkloadArgs } from "./workload";

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

/** Renders one workload named `web` in namespace `apps`. */
function renderWorkload(args: Omit<WorkloadArgs, "name" | "namespace">) {
  return render(() => createWorkload({ name: "web", namespace: namespaceOnCluster(), ...args }));
}

const nginx = { image: "nginx:1.27" };

describe("createWorkload", () => {
  it("selects its pods by the identity label only", async () => {
    const { manifest } = await renderWorkload({ container: nginx });
    const deployment = manifest("Deployment", "web");
    assert.deepEqual(deployment.spec.selector, { matchLabels: { [identityLabel]: "web" } });
    assert.equal(deployment.spec.template.metadata.labels[identityLabel], "web");
  });

  it("puts user labels on the object and pod labels on the pods, never in the selector", async () => {
    const plain = (await renderWorkload({ container: nginx })).manifest("Deployment", "web");
    const labelled = (
      await renderWorkload({ container: nginx, labels: { team: "media" }, podLabels: { tier: "frontend" } })
    ).manifest("Deployment", "web");
    assert.equal(labelled.metadata.labels.team, "media");
    assert.equal(labelled.spec.template.metadata.labels.tier, "frontend");
    // The selector is immutable on a live Deployment: adding labels must leave it byte for byte.
    assert.deepEqual(labelled.spec.selector, plain.spec.selector);
  });

  it("keeps the identity label when a user label tries to override it", async () => {
    const { manifest } = await renderWorkload({
      container: nginx,
      labels: { [identityLabel]: "other" },
      podLabels: { [identityLabel]: "other" },
    });
    const deployment = manifest("Deployment", "web");
    assert.equal(deployment.metadata.labels[identityLabel], "web");
    // Otherwise the selector would no longer match the pods.
    assert.equal(deployment.spec.template.metadata.labels[identityLabel], "web");
  });

  it("runs one replica by default and the requested number otherwise", async () => {
    const single = (await renderWorkload({ container: nginx })).manifest("Deployment", "web");
    const three = (await renderWorkload({ container: nginx, replicas: 3 })).manifest("Deployment", "web");
    assert.equal(single.spec.replicas, 1);
    assert.equal(three.spec.replicas, 3);
  });

  it("changes the pod template when the image changes, so the pods roll out", async () => {
    const before = (await renderWorkload({ container: { image: "nginx:1.27" } })).manifest(
      "Deployment",
      "web",
    );
    const after = (await renderWorkload({ container: { image: "nginx:1.28" } })).manifest(
      "Deployment",
      "web",
    );
    assert.equal(before.spec.template.spec.containers[0].image, "nginx:1.27");
    assert.equal(after.spec.template.spec.containers[0].image, "nginx:1.28");
    assert.deepEqual(after.spec.selector, before.spec.selector);
  });

  it("registers no resource with ignoreChanges, so no change is silently skipped", async () => {
    const ignored: Record<string, string[]> = {};
    const rendered = await render(() => {
      // Sees each registration as the engine would, after synth's own recording.
      const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(
          request: { getName(): string; getIgnorechangesList(): string[] },
          callback: unknown,
        ): unknown;
      };
      const register = monitor.registerResource.bind(monitor);
      monitor.registerResource = (request, callback) => {
        ignored[request.getName()] = request.getIgnorechangesList();
        return register(request, callback);
      };
      const namespace = namespaceOnCluster();
      const config = createConfigMap({ name: "web-config", namespace, data: { "nginx.conf": "events {}" } });
      const data = createPersistentVolumeClaim({ name: "web-data", namespace, size: "1Gi" });
      createWorkload({
        name: "web",
        namespace,
        container: {
          image: "nginx:1.27",
          volumeMounts: [
            { volume: config, mountPath: "/etc/nginx" },
            { volume: data, mountPath: "/data" },
          ],
        },
      });
    });
    assert.deepEqual(rendered.errors, []);
    assert.deepEqual(Object.keys(ignored).sort(), [
      "apps",
      "apps/web",
      "apps/web-config",
      "apps/web-data",
      "cluster",
    ]);
    for (const [name, paths] of Object.entries(ignored))
      assert.deepEqual(paths, [], `${name} ignores changes`);
  });

  it("changes the pod template's checksum annotation when a mounted ConfigMap's content changes", async () => {
    const renderWith = async (content: string) =>
      (
        await render(() => {
          const namespace = namespaceOnCluster();
          const config = createConfigMap({ name: "web-config", namespace, data: { "nginx.conf": content } });
          createWorkload({
            name: "web",
            namespace,
            container: { image: "nginx:1.27", volumeMounts: [{ volume: config, mountPath: "/etc/nginx" }] },
          });
        })
      ).manifest("Deployment", "web").spec.template.metadata.annotations as Record<string, string>;
    const first = await renderWith("events {}");
    const same = await renderWith("events {}");
    const changed = await renderWith("events { worker_connections 512; }");
    assert.deepEqual(Object.keys(first), ["checksum.infra/config-0"]);
    assert.match(first["checksum.infra/config-0"] ?? "", /^[0-9a-f]{16}$/);
    // Same content, same template: nothing rolls out needlessly.
    assert.deepEqual(same, first);
    assert.notEqual(changed["checksum.infra/config-0"], first["checksum.infra/config-0"]);
  });

  it("replaces a Deployment that mounts a claim with Recreate", async () => {
    const { manifest } = await render(() => {
      const namespace = namespaceOnCluster();
      const data = createPersistentVolumeClaim({ name: "web-data", namespace, size: "1Gi" });
      createWorkload({
        name: "web",
        namespace,
        container: { image: "nginx:1.27", volumeMounts: [{ volume: data, mountPath: "/data" }] },
      });
    });
    assert.deepEqual(manifest("Deployment", "web").spec.strategy, { type: "Recreate" });
  });

  it("uses Recreate when only a sidecar mounts the claim", async () => {
    const { manifest } = await render(() => {
      const namespace = namespaceOnCluster();
      const data = createPersistentVolumeClaim({ name: "web-data", namespace, size: "1Gi" });
      createWorkload({
        name: "web",
        namespace,
        container: nginx,
        sidecars: [
          {
            name: "backup",
            image: "restic/restic:0.18.1",
            volumeMounts: [{ volume: data, mountPath: "/data" }],
          },
        ],
      });
    });
    assert.deepEqual(manifest("Deployment", "web").spec.strategy, { type: "Recreate" });
  });

  it("rolls a Deployment without a claim out with RollingUpdate", async () => {
    const { manifest } = await renderWorkload({
      container: { image: "nginx:1.27", volumeMounts: [{ volume: emptyDir("cache"), mountPath: "/cache" }] },
    });
    assert.deepEqual(manifest("Deployment", "web").spec.strategy, { type: "RollingUpdate" });
  });

  it("gives a StatefulSet its governing service's name and the identity selector", async () => {
    const { manifest } = await renderWorkload({ kind: "StatefulSet", container: nginx });
    const statefulSet = manifest("StatefulSet", "web");
    assert.equal(statefulSet.spec.serviceName, "web");
    assert.deepEqual(statefulSet.spec.selector, { matchLabels: { [identityLabel]: "web" } });
    assert.equal(statefulSet.spec.replicas, 1);
  });

  it("renders a DaemonSet with the identity selector and no replica count", async () => {
    const { manifest } = await renderWorkload({ kind: "DaemonSet", container: nginx });
    const daemonSet = manifest("DaemonSet", "web");
    assert.deepEqual(daemonSet.spec.selector, { matchLabels: { [identityLabel]: "web" } });
    assert.equal("replicas" in daemonSet.spec, false);
  });

  it("rejects replicas on a DaemonSet", async () => {
    const rendered = await renderWorkload({ kind: "DaemonSet", replicas: 2, container: nginx });
    assert.deepEqual(rendered.errors, ["DaemonSet web cannot set replicas"]);
    assert.equal(
      rendered.manifests.some((object) => object.kind === "DaemonSet"),
      false,
    );
  });
});
