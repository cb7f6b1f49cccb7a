import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { identityLabel } from "./metadata";
import { createNamespace } from "./namespace";
import { createSecret, secretKeyRef } from "./secret";
import { createWorkload } from "./workload";

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

/** Whether a value is wrapped in the marker the Pulumi SDK gives secrets on the wire. */
function isSecret(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** The value with every secret replaced, as it could be shown or stored. */
function withoutSecrets(value: unknown): unknown {
  if (isSecret(value)) return "[secret]";
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutSecrets(item)]));
  }
  return value;
}

describe("createSecret", () => {
  it("hands its values to the engine as Pulumi secrets", async () => {
    const rendered = await render(() =>
      createSecret({ name: "db", namespace: namespaceOnCluster(), stringData: { password: "hunter2" } }),
    );
    const record = rendered.resources.find((resource) => resource.type === "kubernetes:core/v1:Secret");
    assert.ok(record, "no Secret was registered");
    assert.equal(isSecret(record.inputs.stringData), true);
  });

  it("leaves no value in plain text anywhere, even in a workload that uses the Secret", async () => {
    const rendered = await render(() => {
      const namespace = namespaceOnCluster();
      const secret = createSecret({
        name: "db",
        namespace,
        // A plain string and an Output that is not yet secret: both must end up secret.
        stringData: { password: "hunter2", token: pulumi.output("t0ken-value") },
      });
      createWorkload({
        name: "web",
        namespace,
        container: {
          image: "nginx:1.27",
          env: { DB_PASSWORD: secretKeyRef(secret, "password") },
          volumeMounts: [{ volume: secret, mountPath: "/run/secrets/db" }],
        },
      });
    });
    assert.deepEqual(rendered.errors, []);
    const visible = JSON.stringify(rendered.resources.map((resource) => withoutSecrets(resource.inputs)));
    assert.equal(visible.includes("hunter2"), false);
    assert.equal(visible.includes("t0ken-value"), false);
    // The values are still there for the provider to apply.
    assert.deepEqual(rendered.manifest("Secret", "db").stringData, {
      password: "hunter2",
      token: "t0ken-value",
    });
  });

  it("is Opaque by default and of the type asked for otherwise", async () => {
    const { manifest } = await render(() => {
      const namespace = namespaceOnCluster();
      createSecret({ name: "plain", namespace, stringData: { key: "value" } });
      createSecret({
        name: "registry",
        namespace,
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": "{}" },
      });
    });
    assert.equal(manifest("Secret", "plain").type, "Opaque");
    assert.equal(manifest("Secret", "registry").type, "kubernetes.io/dockerconfigjson");
  });

  it("lives in its namespace with the identity label and the user's labels and annotations", async () => {
    const { manifest } = await render(() =>
      createSecret({
        name: "db",
        namespace: namespaceOnCluster(),
        labels: { team: "data" },
        annotations: { "example.com/rotated": "2025-01-01" },
        stringData: { password: "hunter2" },
      }),
    );
    const { metadata } = manifest("Secret", "db");
    assert.equal(metadata.namespace, "apps");
    assert.deepEqual(metadata.labels, {
      team: "data",
      "app.kubernetes.io/managed-by": "pulumi",
      [identityLabel]: "db",
    });
    assert.deepEqual(metadata.annotations, { "example.com/rotated": "2025-01-01" });
  });
});
