import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { createConfigMap } from "./config-map";
import { createNamespace } from "./namespace";
import { createPersistentVolumeClaim } from "./persistent-volume-claim";
import { createSecret } from "./secret";
import { emptyDir, hostPath } from "./volumes";
import { createWorkload } from "./workload";

/** A rendered Kubernetes object (or part of one), loosely typed for assertions. */
type Manifest = ReturnType<RenderedProgram["manifest"]>;

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

/** The pod spec of the Deployment `web` a program renders. */
async function podSpec(program: () => unknown): Promise<Manifest> {
  const rendered = await render(program);
  assert.deepEqual(rendered.errors, []);
  return rendered.manifest("Deployment", "web").spec.template.spec;
}

describe("pod volumes", () => {
  it("declares one volume per claim, named after it, even when two containers mount it", async () => {
    const spec = await podSpec(() => {
      const namespace = namespaceOnCluster();
      const data = createPersistentVolumeClaim({ name: "web-data", namespace, size: "1Gi" });
      createWorkload({
        name: "web",
        namespace,
        container: { image: "nginx:1.27", volumeMounts: [{ volume: data, mountPath: "/data" }] },
        sidecars: [
          {
            name: "backup",
            image: "restic/restic:0.18.1",
            volumeMounts: [{ volume: data, mountPath: "/source" }],
          },
        ],
      });
    });
    assert.deepEqual(spec.volumes, [
      { name: "pvc-web-data", persistentVolumeClaim: { claimName: "web-data" } },
    ]);
    assert.deepEqual(spec.containers[0].volumeMounts, [{ name: "pvc-web-data", mountPath: "/data" }]);
    assert.deepEqual(spec.containers[1].volumeMounts, [{ name: "pvc-web-data", mountPath: "/source" }]);
  });

  it("declares a ConfigMap and a Secret once each, by their names, when init and main containers mount them", async () => {
    const spec = await podSpec(() => {
      const namespace = namespaceOnCluster();
      const config = createConfigMap({ name: "web-config", namespace, data: { "app.ini": "[server]" } });
      const secret = createSecret({ name: "web-secret", namespace, stringData: { token: "t0ken" } });
      const mounts = [
        { volume: config, mountPath: "/etc/app" },
        { volume: secret, mountPath: "/run/secrets/app" },
      ];
      createWorkload({
        name: "web",
        namespace,
        initContainers: [{ name: "check", image: "busybox:1.37", volumeMounts: mounts }],
        container: { image: "nginx:1.27", volumeMounts: mounts },
      });
    });
    assert.deepEqual(spec.volumes, [
      { name: "cm-web-config", configMap: { name: "web-config" } },
      { name: "secret-web-secret", secret: { secretName: "web-secret" } },
    ]);
  });

  it("mounts ConfigMaps and Secrets read-only", async () => {
    const spec = await podSpec(() => {
      const namespace = namespaceOnCluster();
      const config = createConfigMap({ name: "web-config", namespace, data: { "app.ini": "[server]" } });
      const secret = createSecret({ name: "web-secret", namespace, stringData: { token: "t0ken" } });
      createWorkload({
        name: "web",
        namespace,
        container: {
          image: "nginx:1.27",
          volumeMounts: [
            { volume: config, mountPath: "/etc/app" },
            { volume: secret, mountPath: "/run/secrets/app" },
          ],
        },
      });
    });
    assert.deepEqual(spec.containers[0].volumeMounts, [
      { name: "cm-web-config", mountPath: "/etc/app", readOnly: true },
      { name: "secret-web-secret", mountPath: "/run/secrets/app", readOnly: true },
    ]);
  });

  it("keeps ConfigMaps and Secrets read-only even when a mount asks for readOnly: false", async () => {
    const spec = await podSpec(() => {
      const namespace = namespaceOnCluster();
      const config = createConfigMap({ name: "web-config", namespace, data: { "app.ini": "[server]" } });
      const secret = createSecret({ name: "web-secret", namespace, stringData: { token: "t0ken" } });
      createWorkload({
        name: "web",
        namespace,
        container: {
          image: "nginx:1.27",
          volumeMounts: [
            { volume: config, mountPath: "/etc/app", readOnly: false },
            { volume: secret, mountPath: "/run/secrets/app", readOnly: false },
          ],
        },
      });
    });
    for (const mount of spec.containers[0].volumeMounts) assert.equal(mount.readOnly, true, mount.name);
  });

  it("mounts a claim writable by default and read-only when asked, with its subPath", async () => {
    const spec = await podSpec(() => {
      const namespace = namespaceOnCluster();
      const data = createPersistentVolumeClaim({ name: "web-data", namespace, size: "1Gi" });
      createWorkload({
        name: "web",
        namespace,
        container: { image: "nginx:1.27", volumeMounts: [{ volume: data, mountPath: "/data" }] },
        sidecars: [
          {
            name: "exporter",
            image: "busybox:1.37",
            volumeMounts: [{ volume: data, mountPath: "/logs", subPath: "logs", readOnly: true }],
          },
        ],
      });
    });
    assert.equal("readOnly" in spec.containers[0].volumeMounts[0], false);
    assert.deepEqual(spec.containers[1].volumeMounts, [
      { name: "pvc-web-data", mountPath: "/logs", subPath: "logs", readOnly: true },
    ]);
  });

  it("passes defaultMode on to the ConfigMap and Secret volumes", async () => {
    const spec = await podSpec(() => {
      const namespace = namespaceOnCluster();
      const scripts = createConfigMap({ name: "scripts", namespace, data: { "run.sh": "#!/bin/sh\n" } });
      const key = createSecret({ name: "ssh-key", namespace, stringData: { id_ed25519: "key" } });
      createWorkload({
        name: "web",
        namespace,
        container: {
          image: "nginx:1.27",
          volumeMounts: [
            { volume: scripts, mountPath: "/scripts", defaultMode: 0o755 },
            { volume: key, mountPath: "/ssh", defaultMode: 0o400 },
          ],
        },
      });
    });
    assert.deepEqual(spec.volumes, [
      { name: "cm-scripts", configMap: { name: "scripts", defaultMode: 0o755 } },
      { name: "secret-ssh-key", secret: { secretName: "ssh-key", defaultMode: 0o400 } },
    ]);
  });

  it("renders emptyDir and hostPath volumes as such, shared when the same volume is mounted twice", async () => {
    const spec = await podSpec(() => {
      const scratch = emptyDir("scratch", { medium: "Memory", sizeLimit: "64Mi" });
      const tun = hostPath("tun", "/dev/net/tun", "CharDevice");
      createWorkload({
        name: "web",
        namespace: namespaceOnCluster(),
        container: {
          image: "nginx:1.27",
          volumeMounts: [
            { volume: scratch, mountPath: "/tmp" },
            { volume: tun, mountPath: "/dev/net/tun" },
            { volume: emptyDir("cache"), mountPath: "/cache" },
          ],
        },
        sidecars: [
          { name: "relay", image: "busybox:1.37", volumeMounts: [{ volume: scratch, mountPath: "/shared" }] },
        ],
      });
    });
    assert.deepEqual(spec.volumes, [
      { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      { name: "tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } },
      { name: "cache", emptyDir: {} },
    ]);
    // Scratch space is writable.
    assert.deepEqual(spec.containers[1].volumeMounts, [{ name: "scratch", mountPath: "/shared" }]);
  });

  it("declares one volume when two containers each mount an emptyDir of the same name", async () => {
    const spec = await podSpec(() =>
      createWorkload({
        name: "web",
        namespace: namespaceOnCluster(),
        container: {
          image: "nginx:1.27",
          volumeMounts: [{ volume: emptyDir("shared"), mountPath: "/shared" }],
        },
        sidecars: [
          {
            name: "relay",
            image: "busybox:1.37",
            volumeMounts: [{ volume: emptyDir("shared"), mountPath: "/in" }],
          },
        ],
      }),
    );
    // Kubernetes rejects a pod whose volumes repeat a name.
    assert.deepEqual(spec.volumes, [{ name: "shared", emptyDir: {} }]);
  });

  it("rejects two different volumes under the same name", async () => {
    const rendered = await render(() =>
      createWorkload({
        name: "web",
        namespace: namespaceOnCluster(),
        container: {
          image: "nginx:1.27",
          volumeMounts: [
            { volume: emptyDir("data"), mountPath: "/a" },
            { volume: hostPath("data", "/var/lib/data"), mountPath: "/b" },
          ],
        },
      }),
    );
    assert.equal(rendered.errors.length, 1);
    assert.match(rendered.errors[0] ?? "", /volume "data".*different/);
  });

  it("declares no volumes for a pod that mounts nothing", async () => {
    const spec = await podSpec(() =>
      createWorkload({ name: "web", namespace: namespaceOnCluster(), container: { image: "nginx:1.27" } }),
    );
    assert.equal("volumes" in spec, false);
    assert.equal("volumeMounts" in spec.containers[0], false);
  });
});

describe("createPersistentVolumeClaim", () => {
  it("requests its size as ReadWriteOnce on the cluster's default storage class", async () => {
    const { manifest } = await render(() =>
      createPersistentVolumeClaim({ name: "data", namespace: namespaceOnCluster(), size: "5Gi" }),
    );
    assert.deepEqual(manifest("PersistentVolumeClaim", "data").spec, {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "5Gi" } },
    });
  });

  it("renders the access mode and storage class it is given", async () => {
    const { manifest } = await render(() =>
      createPersistentVolumeClaim({
        name: "data",
        namespace: namespaceOnCluster(),
        size: "5Gi",
        accessMode: "ReadWriteOncePod",
        storageClassName: "local-path",
      }),
    );
    const spec = manifest("PersistentVolumeClaim", "data").spec;
    assert.deepEqual(spec.accessModes, ["ReadWriteOncePod"]);
    assert.equal(spec.storageClassName, "local-path");
  });
});
