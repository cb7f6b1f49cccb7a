import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
} from "./metadata";

export interface ConfigMapArgs extends NamespacedObjectArgs {
  /** The entries: file name or key → content. */
  data: Record<string, pulumi.Input<string>>;
}

/** Creates a ConfigMap. */
export function createConfigMap(args: ConfigMapArgs): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(
    namespacedResourceName(args),
    { metadata: namespacedMetadata(args), data: args.data },
    namespacedOptions(args),
  );
}

/** An environment value read from a ConfigMap key. */
export function configMapKeyRef(configMap: k8s.core.v1.ConfigMap, key: string): EnvValueFrom {
  return { valueFrom: { configMapKeyRef: { name: configMap.metadata.name, key } } };
}

/** An environment value read from a ConfigMap or Secret key (see `secretKeyRef`, `configMapKeyRef`). */
export interface EnvValueFrom {
  valueFrom: k8s.types.input.core.v1.EnvVarSource;
}
