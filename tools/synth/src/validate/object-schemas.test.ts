import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { problemsWith } from "./test-stack";

describe("checking objects against the kubernetes-models schemas", () => {
  it("rejects a Deployment field of the wrong type, naming its path", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.deployment.spec.replicas = "two";
    });
    assert.deepEqual(problems, ["test/app: Deployment web/web: spec.replicas: must be integer"]);
  });

  it("rejects a wrong type deep inside the pod template", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.deployment.spec.template.spec.containers[0].ports[0].containerPort = "8080";
    });
    assert.deepEqual(problems, [
      "test/app: Deployment web/web: spec.template.spec.containers.0.ports.0.containerPort: must be integer",
    ]);
  });

  it("names a label key that contains a slash as it is written", async () => {
    // JSON pointers escape "/" as "~1"; the problem shows the key itself.
    const problems = await problemsWith((parts) => {
      parts.app.configMap.metadata.labels["app.kubernetes.io/part-of"] = 7;
    });
    assert.deepEqual(problems, [
      "test/app: ConfigMap web/web-config: metadata.labels.app.kubernetes.io/part-of: must be string",
    ]);
  });

  it("rejects an object of an API group no vendored schema or model covers", async () => {
    const problems = await problemsWith((parts) => {
      parts.extra.push({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w", namespace: "web" },
      });
    });
    assert.deepEqual(problems, [
      "test/app: Widget web/w: example.com/v1 Widget: no schema is known for this kind",
    ]);
  });
});

describe("checking custom resources against their vendored CRDs, strictly", () => {
  it("rejects an unknown field in a CiliumNetworkPolicy rule, which the API server would drop", async () => {
    const problems = await problemsWith((parts) => {
      // Misspelt fromEndpoints: pruned silently, the rule would admit every peer on its ports.
      parts.app.policy.spec.ingress[0].fromEndpoint = parts.app.policy.spec.ingress[0].fromEndpoints;
      delete parts.app.policy.spec.ingress[0].fromEndpoints;
    });
    assert.deepEqual(problems, [
      "test/app: CiliumNetworkPolicy web/web-from-gateway: spec.ingress.0.fromEndpoint: unknown field (the API server would drop it)",
    ]);
  });

  it("rejects an unknown field in a Gateway listener", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.gateway.spec.listeners[0].tlsMode = "Terminate";
    });
    assert.deepEqual(problems, [
      "test/app: Gateway web/web: spec.listeners.0.tlsMode: unknown field (the API server would drop it)",
    ]);
  });

  it("enforces the CRD's own types", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.route.spec.rules[0].backendRefs[0].port = "http";
    });
    assert.deepEqual(problems, [
      "test/app: HTTPRoute web/web: spec.rules.0.backendRefs.0.port: must be integer",
    ]);
  });
});
