import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The one label a selector uses. It is derived from the object's name and never from user
 * labels, so changing labels never touches an immutable selector.
 */
export const identityLabel = "app.kubernetes.io/name";

/** Labels every object the helpers create carries. */
export const managedByLabels = { "app.kubernetes.io/managed-by": "pulumi" } as const;

/** Options every namespaced object shares. */
export interface NamespacedObjectArgs {
  /** The object's name (a DNS label); also its Pulumi resource name. */
  name: string;
  /** The namespace the object lives in; the object inherits its Kubernetes provider. */
  namespace: k8s.core.v1.Namespace;
  /** Extra labels; the identity label cannot be overridden. */
  labels?: Record<string, string>;
  /** Annotations on the object. */
  annotations?: Record<string, string>;
  /** Extra Pulumi options (for example `dependsOn`); the parent is always the namespace. */
  options?: Omit<pulumi.CustomResourceOptions, "parent" | "provider">;
}

/** The identity labels of a named object: the selector of a workload named `name`. */
export function selectorLabels(name: string): Record<string, string> {
  return { [identityLabel]: name };
}

/** Labels of an object: user labels, then the managed-by and identity labels (which win). */
export function objectLabels(name: string, labels: Record<string, string> = {}): Record<string, string> {
  return { ...labels, ...managedByLabels, ...selectorLabels(name) };
}

/** `metadata` of a namespaced object. */
export function namespacedMetadata(args: NamespacedObjectArgs): k8s.types.input.meta.v1.ObjectMeta {
  return {
    name: args.name,
    namespace: args.namespace.metadata.name,
    labels: objectLabels(args.name, args.labels),
    ...(args.annotations ? { annotations: args.annotations } : {}),
  };
}

/** Pulumi options of a namespaced object: parented to (and so sharing the provider of) its namespace. */
export function namespacedOptions(args: NamespacedObjectArgs): pulumi.CustomResourceOptions {
  return { ...args.options, parent: args.namespace };
}
