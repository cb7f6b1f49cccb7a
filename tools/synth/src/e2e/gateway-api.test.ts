import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { crds } from "@infra/core";
import { parse } from "yaml";
import { schemasDir } from "../validate/crd-schemas";
import { type ExampleOutput, exampleStacks, synthExampleStacks } from "./example-stacks";

/** The vendored upstream CRDs, read here independently of the library that installs them. */
function vendoredCrds(): Record<string, any>[] {
  const dir = join(schemasDir, "crds", "gateway-api");
  return readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => parse(readFileSync(join(dir, file), "utf8")) as Record<string, any>)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks(["gateway-api"]);
});
after(() => output.remove());

describe("the gateway-api layer of the example stacks", () => {
  it("synthesizes and validates without a problem", () => {
    assert.deepEqual(output.problems, []);
  });

  it("runs after shared and cilium on every stack, as its references require", () => {
    for (const stack of exampleStacks) {
      assert.deepEqual(
        output.order(stack).map((entry) => entry.project),
        ["shared", "cilium", "gateway-api"],
        stack,
      );
    }
  });

  it("installs every vendored CRD with its group, kind and versions, through the server's provider", () => {
    const vendored = vendoredCrds();
    for (const stack of exampleStacks) {
      const rendered = output.manifests(stack, "gateway-api");
      assert.deepEqual(
        rendered.map((crd) => crd.metadata.name).sort(),
        vendored.map((crd) => crd.metadata.name),
      );
      for (const crd of vendored) {
        const installed = output.manifest(
          stack,
          "gateway-api",
          "CustomResourceDefinition",
          crd.metadata.name,
        );
        assert.equal(installed.apiVersion, "apiextensions.k8s.io/v1");
        assert.equal(installed.spec.group, "gateway.networking.k8s.io");
        assert.equal(installed.spec.names.kind, crd.spec.names.kind);
        assert.deepEqual(installed.spec.versions, crd.spec.versions);
      }
      for (const resource of output.resources(stack, "gateway-api")) {
        if (resource.type.startsWith("kubernetes:apiextensions")) {
          assert.match(resource.provider ?? "", /::pulumi:providers:kubernetes::kubernetes::/);
        }
      }
    }
  });

  it("exports the pinned Gateway API version and the CRD names for the layers above", () => {
    for (const stack of exampleStacks) {
      assert.deepEqual(output.outputs(stack, "gateway-api"), {
        crdNames: vendoredCrds().map((crd) => crd.metadata.name),
        gatewayApiVersion: crds.gatewayApi,
      });
    }
  });
});
