import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { crds } from "@infra/core";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { gatewayApiCrdsDir, installGatewayApiCrds, readGatewayApiCrds } from "./crds";

const group = "gateway.networking.k8s.io";
const crdType = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

/** Renders the vendored CRDs through a provider named `cluster`. */
async function renderCrds() {
  const rendered = await render(() => {
    installGatewayApiCrds({ provider: new k8s.Provider("cluster", { context: "test" }) });
  });
  assert.deepEqual(rendered.errors, []);
  return rendered;
}

/** A copy of one vendored CRD file in a fresh directory, edited by `edit`. */
function editedCopy(edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "gateway-crds-"));
  const file = "gateway.networking.k8s.io_gatewayclasses.yaml";
  writeFileSync(join(dir, file), edit(readFileSync(join(gatewayApiCrdsDir, file), "utf8")));
  return dir;
}

describe("installGatewayApiCrds", () => {
  it("renders the five standard-channel CRDs with their group, kinds and served versions", async () => {
    const { manifests } = await renderCrds();
    const byName = [...manifests].sort((a: Record<string, any>, b: Record<string, any>) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    const rendered = byName.map((crd: Record<string, any>) => ({
      name: crd.metadata.name,
      group: crd.spec.group,
      kind: crd.spec.names.kind,
      versions: crd.spec.versions.map((version: Record<string, any>) => [
        version.name,
        version.served,
        version.storage,
      ]),
    }));
    assert.deepEqual(rendered, [
      {
        name: `gatewayclasses.${group}`,
        group,
        kind: "GatewayClass",
        versions: [
          ["v1", true, true],
          ["v1beta1", true, false],
        ],
      },
      {
        name: `gateways.${group}`,
        group,
        kind: "Gateway",
        versions: [
          ["v1", true, true],
          ["v1beta1", true, false],
        ],
      },
      { name: `grpcroutes.${group}`, group, kind: "GRPCRoute", versions: [["v1", true, true]] },
      {
        name: `httproutes.${group}`,
        group,
        kind: "HTTPRoute",
        versions: [
          ["v1", true, true],
          ["v1beta1", true, false],
        ],
      },
      {
        name: `referencegrants.${group}`,
        group,
        kind: "ReferenceGrant",
        // ReferenceGrant is still stored as v1beta1 in this release.
        versions: [
          ["v1", true, false],
          ["v1beta1", true, true],
        ],
      },
    ]);
  });

  it("keeps each CRD's schema exactly as vendored", async () => {
    const { manifest } = await renderCrds();
    const vendored = readGatewayApiCrds().find((crd) => crd.metadata.name === `httproutes.${group}`);
    assert.deepEqual(manifest("CustomResourceDefinition", `httproutes.${group}`).spec, vendored?.spec);
  });

  it("marks every CRD with the pinned bundle version, the standard channel and the managed-by label", async () => {
    const { manifests } = await renderCrds();
    for (const crd of manifests as Record<string, any>[]) {
      assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/bundle-version"], crds.gatewayApi);
      assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/channel"], "standard");
      assert.equal(crd.metadata.labels["app.kubernetes.io/managed-by"], "pulumi");
    }
  });

  it("creates every CRD through the given provider", async () => {
    const { resources } = await renderCrds();
    const created = resources.filter((resource) => resource.type === crdType);
    assert.equal(created.length, 5);
    for (const resource of created)
      assert.match(resource.provider ?? "", /::pulumi:providers:kubernetes::cluster::/);
  });
});

describe("readGatewayApiCrds", () => {
  it("fails, naming the file and both versions, when a file is not the version versions.ts pins", () => {
    const dir = editedCopy((text) =>
      text.replace(`bundle-version: ${crds.gatewayApi}`, "bundle-version: v1.0.0"),
    );
    try {
      assert.throws(
        () => readGatewayApiCrds(dir),
        new RegExp(
          `gateway\\.networking\\.k8s\\.io_gatewayclasses\\.yaml: CRD gatewayclasses\\.${group.replace(/\./g, "\\.")} is Gateway API v1\\.0\\.0, but crds\\.gatewayApi .* pins ${crds.gatewayApi.replace(/\./g, "\\.")}`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails on a CRD of the experimental channel", () => {
    const dir = editedCopy((text) => text.replace("channel: standard", "channel: experimental"));
    try {
      assert.throws(() => readGatewayApiCrds(dir), /from the experimental channel, not standard/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
