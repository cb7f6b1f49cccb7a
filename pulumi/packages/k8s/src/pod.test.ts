import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { configMapKeyRef, createConfigMap } from "./config-map";
import { createNamespace } from "./namespace";
import type { PodArgs } from "./pod";
import { createSecret, secretKeyRef } from "./secret";
import { createServiceAccount } from "./service-account";
import { createWorkload } from "./workload";

/** A rendered Kubernetes object (or part of one), loosely typed for assertions. */
type Manifest = ReturnType<RenderedProgram["manifest"]>;

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

/** The pod template of a Deployment `web` with these pod settings. */
async function podTemplate(pod: (namespace: k8s.core.v1.Namespace) => PodArgs): Promise<Manifest> {
  const rendered = await render(() => {
    const namespace = namespaceOnCluster();
    createWorkload({ name: "web", namespace, ...pod(namespace) });
  });
  assert.deepEqual(rendered.errors, []);
  return rendered.manifest("Deployment", "web").spec.template;
}

describe("pod template", () => {
  it("renders plain env values as values and key references as valueFrom", async () => {
    const template = await podTemplate((namespace) => {
      const secret = createSecret({ name: "db", namespace, stringData: { password: "hunter2" } });
      const config = createConfigMap({ name: "settings", namespace, data: { LOG_LEVEL: "debug" } });
      return {
        container: {
          image: "nginx:1.27",
          env: {
            TZ: "Europe/Berlin",
            HOST: pulumi.output("db.apps.svc"),
            DB_PASSWORD: secretKeyRef(secret, "password"),
            LOG_LEVEL: configMapKeyRef(config, "LOG_LEVEL"),
          },
        },
      };
    });
    assert.deepEqual(template.spec.containers[0].env, [
      { name: "TZ", value: "Europe/Berlin" },
      { name: "HOST", value: "db.apps.svc" },
      { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
      { name: "LOG_LEVEL", valueFrom: { configMapKeyRef: { name: "settings", key: "LOG_LEVEL" } } },
    ]);
  });

  it("gives a pod without a service account no API token", async () => {
    const template = await podTemplate(() => ({ container: { image: "nginx:1.27" } }));
    assert.equal(template.spec.automountServiceAccountToken, false);
    assert.equal("serviceAccountName" in template.spec, false);
  });

  it("runs a pod with a service account as that account, leaving the token to the account", async () => {
    const template = await podTemplate((namespace) => ({
      serviceAccount: createServiceAccount({ name: "operator", namespace, automountToken: true }),
      container: { image: "nginx:1.27" },
    }));
    assert.equal(template.spec.serviceAccountName, "operator");
    // A pod-level false would override the account's opt-in.
    assert.equal("automountServiceAccountToken" in template.spec, false);
  });

  it("turns privilege escalation off and drops every capability in every container by default, as restricted requires", async () => {
    const template = await podTemplate(() => ({
      initContainers: [{ image: "busybox:1.37" }],
      container: { image: "nginx:1.27" },
      sidecars: [{ image: "busybox:1.37" }],
    }));
    const containers = [...template.spec.initContainers, ...template.spec.containers];
    const restricted = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
    assert.deepEqual(
      containers.map((container) => [container.name, container.securityContext]),
      [
        ["init-0", restricted],
        ["web", restricted],
        ["sidecar-0", restricted],
      ],
    );
  });

  it("requires a non-root user and the runtime's seccomp profile for the pod by default", async () => {
    const template = await podTemplate(() => ({ container: { image: "nginx:1.27" } }));
    assert.deepEqual(template.spec.securityContext, {
      seccompProfile: { type: "RuntimeDefault" },
      runAsNonRoot: true,
    });
  });

  it("runs a pod as root only when told to, for a workload that needs it", async () => {
    const template = await podTemplate(() => ({
      container: {
        image: "wireguard:1.0",
        securityContext: { capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] } },
      },
      podSecurity: { runAsNonRoot: false },
    }));
    assert.equal(template.spec.securityContext.runAsNonRoot, false);
    assert.deepEqual(template.spec.containers[0].securityContext.capabilities, {
      add: ["NET_ADMIN"],
      drop: ["ALL"],
    });
  });

  it("allows privilege escalation for a privileged container, as Kubernetes requires", async () => {
    const template = await podTemplate(() => ({
      container: { image: "nginx:1.27", securityContext: { privileged: true } },
    }));
    assert.deepEqual(template.spec.containers[0].securityContext, {
      allowPrivilegeEscalation: true,
      privileged: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("renders the capabilities and user settings a container asks for", async () => {
    const template = await podTemplate(() => ({
      container: {
        image: "tailscale/tailscale:v1.90.6",
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 1000,
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
        },
      },
    }));
    assert.deepEqual(template.spec.containers[0].securityContext, {
      allowPrivilegeEscalation: false,
      runAsUser: 1000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    });
  });

  it("uses the runtime's seccomp profile and renders pod security settings and sysctls", async () => {
    const template = await podTemplate(() => ({
      container: { image: "nginx:1.27" },
      podSecurity: { fsGroup: 2000, runAsNonRoot: true, sysctls: { "net.ipv4.ip_forward": "1" } },
    }));
    assert.deepEqual(template.spec.securityContext, {
      seccompProfile: { type: "RuntimeDefault" },
      fsGroup: 2000,
      runAsNonRoot: true,
      sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }],
    });
  });

  it("resolves cluster DNS from a pod on the host network", async () => {
    const template = await podTemplate(() => ({ container: { image: "nginx:1.27" }, hostNetwork: true }));
    assert.equal(template.spec.hostNetwork, true);
    assert.equal(template.spec.dnsPolicy, "ClusterFirstWithHostNet");
  });

  it("renders probes, resources, command and pod annotations as given", async () => {
    const template = await podTemplate(() => ({
      podAnnotations: { "example.com/owner": "media" },
      container: {
        image: "nginx:1.27",
        command: ["nginx"],
        args: ["-g", "daemon off;"],
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
        readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
        livenessProbe: { tcpSocket: { port: 8080 } },
      },
    }));
    const [container] = template.spec.containers;
    assert.deepEqual(template.metadata.annotations, { "example.com/owner": "media" });
    assert.deepEqual(container.command, ["nginx"]);
    assert.deepEqual(container.args, ["-g", "daemon off;"]);
    assert.deepEqual(container.resources, {
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { memory: "128Mi" },
    });
    assert.deepEqual(container.readinessProbe, {
      httpGet: { path: "/healthz", port: "http" },
      periodSeconds: 5,
    });
    assert.deepEqual(container.livenessProbe, { tcpSocket: { port: 8080 } });
  });

  it("rejects a probe with no handler or with two", async () => {
    const rendered = await render(() => {
      const namespace = namespaceOnCluster();
      createWorkload({ name: "none", namespace, container: { image: "nginx:1.27", readinessProbe: {} } });
    });
    assert.deepEqual(rendered.errors, ["A probe needs exactly one of httpGet, tcpSocket or exec"]);
    const twice = await render(() => {
      const namespace = namespaceOnCluster();
      createWorkload({
        name: "two",
        namespace,
        container: {
          image: "nginx:1.27",
          livenessProbe: { exec: { command: ["true"] }, tcpSocket: { port: 80 } },
        },
      });
    });
    assert.deepEqual(twice.errors, ["A probe needs exactly one of httpGet, tcpSocket or exec"]);
  });
});
