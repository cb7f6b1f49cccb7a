import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateStack } from "./index";
import { problemsWith, recordOf, stackName, testStack, wrappedSecret } from "./test-stack";

describe("validating a synthesized stack", () => {
  it("finds no problem in a stack whose objects, values, references and providers are all valid", async () => {
    assert.deepEqual(await validateStack(testStack()), []);
  });

  it("reports problems of several projects, each under its own stack and project", async () => {
    const problems = await problemsWith((parts) => {
      parts.release.values.hubble.enabled = "yes";
      parts.app.deployment.spec.replicas = "two";
    });
    assert.deepEqual(problems, [
      "test/cilium: HelmRelease kube-system/cilium: values.hubble.enabled: must be boolean",
      "test/app: Deployment web/web: spec.replicas: must be integer",
    ]);
  });

  it("checks a secret value by what it wraps, as the provider would receive it", async () => {
    // Still wrapped, the value would be an object where the Secret schema wants a string.
    const stack = testStack((parts) => {
      parts.app.secret.stringData.password = wrappedSecret("correct-horse-battery");
    });
    assert.deepEqual(await validateStack(stack), []);
  });
});

describe("requiring an explicit provider", () => {
  it("rejects a Kubernetes resource registered without a provider (the ambient kubeconfig)", async () => {
    const stack = testStack();
    delete recordOf(stack, "kubernetes:apps/v1:Deployment", "web").provider;
    assert.deepEqual(await validateStack(stack), [
      "test/app: kubernetes:apps/v1:Deployment web: provider: uses the default provider (ambient kubeconfig)",
    ]);
  });

  it("rejects a Kubernetes resource bound to the engine's default provider", async () => {
    const stack = testStack();
    recordOf(stack, "kubernetes:helm.sh/v3:Release", "cilium").provider =
      `urn:pulumi:${stackName}::cilium::pulumi:providers:kubernetes::default_4_34_2::04da6b54-80e4-46f7-96ec-b56ff0331ba9`;
    assert.deepEqual(await validateStack(stack), [
      "test/cilium: kubernetes:helm.sh/v3:Release cilium: provider: uses the default provider (ambient kubeconfig)",
    ]);
  });

  it("accepts an explicit provider whose name merely starts with default", async () => {
    const stack = testStack();
    recordOf(stack, "kubernetes:apps/v1:Deployment", "web").provider =
      `urn:pulumi:${stackName}::app::pulumi:providers:kubernetes::default-cluster::default-cluster-id`;
    assert.deepEqual(await validateStack(stack), []);
  });
});
