import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { createConfigMap } from "./config-map";
import { identityLabel } from "./metadata";
import { createNamespace } from "./namespace";

describe("createConfigMap", () => {
  it("renders its entries in its namespace with the identity label", async () => {
    const { manifest } = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "apps", provider });
      createConfigMap({
        name: "web-config",
        namespace,
        data: { "nginx.conf": "events {}", LOG_LEVEL: "info" },
      });
    });
    const configMap = manifest("ConfigMap", "web-config");
    assert.deepEqual(configMap.data, { "nginx.conf": "events {}", LOG_LEVEL: "info" });
    assert.equal(configMap.metadata.namespace, "apps");
    assert.equal(configMap.metadata.labels[identityLabel], "web-config");
  });
});
