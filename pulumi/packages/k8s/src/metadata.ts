import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The one label a selector uses. It is derived from the object's name and never from user
 * labels, so changing labels never touches an immutable selector.
 */
export const identityLabel = "app.kubernetes.io/name";

/** Labels every object the helpers create carries. */
export const managedByLabels = { "app.kubernetes.io/managed-by": "pulumi" } as const;

// Namespaces' names, known when the helpers create or read them, so that objects of the same
// kind and name in two namespaces get distinct Pulumi names (URNs name the parent's type only).
const namespaceNames = new WeakMap<k8s.core.v1.Namespace, string>();

/** Records the name of a namespace object (done by `createNamespace` and `getExistingNamespace`). */
export function registerNamespace(namespace: k8s.core.v1.Namespace, name: string): k8s.core.v1.Namespace {
  namespaceNames.set(namespace, name);
  return namespace;
}

/** The Pulumi name of a namespaced object: `<namespace>/<name>`, unique in a project. */
export function namespacedResourceName(args: { name: string; namespace: k8s.core.v1.Namespace }): string {
  const namespace = namespaceNames.get(args.namespace);
  if (namespace === undefined) {
    throw new Error(
      `${args.name}: its namespace was not made with createNamespace or getExistingNamespace, so its name is unknown`,
    );
  }
  return `${namespace}/${args.name}`;
}

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
