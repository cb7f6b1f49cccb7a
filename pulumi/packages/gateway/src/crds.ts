import { readdirSync } from "node:fs";
import { join } from "node:path";
import { crds, readYamlDocuments } from "@infra/core";
import { managedByLabels } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The vendored standard-channel Gateway API CRDs: the same files synth validates Gateways and
 * routes against, so what the cluster gets and what is checked cannot drift apart.
 */
export const gatewayApiCrdsDir = join(__dirname, "..", "..", "..", "..", "schemas", "crds", "gateway-api");

const bundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version";
const channelAnnotation = "gateway.networking.k8s.io/channel";

/** One upstream CRD document, as vendored. */
export interface GatewayApiCrd {
  /** The file it was read from. */
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: { name: string; served: boolean; storage: boolean }[];
  } & Record<string, unknown>;
}

function checkCrd(file: string, document: unknown): GatewayApiCrd {
  const crd = document as Partial<GatewayApiCrd> | null;
  if (crd?.apiVersion !== "apiextensions.k8s.io/v1" || crd.kind !== "CustomResourceDefinition") {
    throw new Error(`${file}: not an apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
  const name = crd.metadata?.name;
  const annotations = crd.metadata?.annotations ?? {};
  // versions.ts is the one place the version is pinned: a replaced file must come with a bump there.
  if (annotations[bundleVersionAnnotation] !== crds.gatewayApi) {
    throw new Error(
      `${file}: CRD ${name} is Gateway API ${annotations[bundleVersionAnnotation]}, but crds.gatewayApi in ` +
        `@infra/core versions.ts pins ${crds.gatewayApi}`,
    );
  }
  if (annotations[channelAnnotation] !== "standard") {
    throw new Error(
      `${file}: CRD ${name} is from the ${annotations[channelAnnotation]} channel, not standard`,
    );
  }
  return { ...(crd as GatewayApiCrd), file };
}

/**
 * Reads the vendored CRDs (one or more YAML documents per file), checking each is a standard-channel
 * CRD of the pinned Gateway API version. Sorted by name, so the order never depends on the disk.
 */
export function readGatewayApiCrds(dir: string = gatewayApiCrdsDir): GatewayApiCrd[] {
  const files = readdirSync(dir).filter((file) => file.endsWith(".yaml"));
  const found = files.flatMap((file) => {
    const path = join(dir, file);
    return readYamlDocuments(path).map((document) => checkCrd(path, document));
  });
  if (found.length === 0) throw new Error(`${dir}: no Gateway API CRDs found`);
  return found.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export interface GatewayApiCrdsArgs {
  /** The Kubernetes provider of the server's cluster (CRDs are cluster-wide). */
  provider: k8s.Provider;
  /** Where the CRDs are read from; the vendored files by default. */
  dir?: string;
  /** Extra Pulumi options. */
  options?: Omit<pulumi.CustomResourceOptions, "provider">;
}

/**
 * Installs the Gateway API CRDs of the pinned version, each as its own resource so previews show
 * them. They outlive a `pulumi destroy` of their layer: deleting a CRD deletes every Gateway and
 * route of every app with it.
 */
export function installGatewayApiCrds(
  args: GatewayApiCrdsArgs,
): k8s.apiextensions.v1.CustomResourceDefinition[] {
  return readGatewayApiCrds(args.dir).map(
    (crd) =>
      new k8s.apiextensions.v1.CustomResourceDefinition(
        crd.metadata.name,
        {
          metadata: {
            name: crd.metadata.name,
            annotations: crd.metadata.annotations ?? {},
            labels: { ...crd.metadata.labels, ...managedByLabels },
          },
          spec: crd.spec,
        },
        { retainOnDelete: true, ...args.options, provider: args.provider },
      ),
  );
}
