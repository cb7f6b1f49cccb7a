import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { objectLabels, registerNamespace } from "./metadata";

export interface NamespaceArgs {
  /** The namespace's name. */
  name: string;
  /**
   * The Kubernetes provider of the server's cluster. Every object created in this namespace
   * inherits it, so nothing falls back to the ambient kubeconfig.
   */
  provider: k8s.Provider;
  /** Extra labels (for example Pod Security admission labels). */
  labels?: Record<string, string>;
  /** Extra Pulumi options. */
  options?: Omit<pulumi.CustomResourceOptions, "provider">;
}

/** Creates a namespace bound to the server's Kubernetes provider. */
export function createNamespace(args: NamespaceArgs): k8s.core.v1.Namespace {
  return registerNamespace(
    new k8s.core.v1.Namespace(
      args.name,
      { metadata: { name: args.name, labels: objectLabels(args.name, args.labels) } },
      { ...args.options, provider: args.provider },
    ),
    args.name,
  );
}

/**
 * Reads a namespace that the cluster already has (for example `kube-system`), so objects can be
 * created in it through the server's provider without Pulumi owning the namespace itself. With a
 * parent (an app's component), the read and what is created in it show under that parent.
 */
export function getExistingNamespace(
  name: string,
  provider: k8s.Provider,
  parent?: pulumi.Resource,
): k8s.core.v1.Namespace {
  return registerNamespace(
    k8s.core.v1.Namespace.get(name, name, { provider, ...(parent ? { parent } : {}) }),
    name,
  );
}
