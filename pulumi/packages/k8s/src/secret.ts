import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EnvValueFrom } from "./config-map";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
} from "./metadata";

export interface SecretArgs extends NamespacedObjectArgs {
  /** The entries in plain text; they are stored as Pulumi secrets. */
  stringData: Record<string, pulumi.Input<string>>;
  /** The Secret type, `Opaque` by default. */
  type?: string;
}

/** Creates a Secret whose values are always Pulumi secrets (never plain in state or output). */
export function createSecret(args: SecretArgs): k8s.core.v1.Secret {
  const stringData = Object.fromEntries(
    Object.entries(args.stringData).map(([key, value]) => [key, pulumi.secret(value)]),
  );
  return new k8s.core.v1.Secret(
    namespacedResourceName(args),
    { metadata: namespacedMetadata(args), type: args.type ?? "Opaque", stringData },
    namespacedOptions(args),
  );
}

/** An environment value read from a Secret key: `env: { PASSWORD: secretKeyRef(secret, "password") }`. */
export function secretKeyRef(secret: k8s.core.v1.Secret, key: string): EnvValueFrom {
  return { valueFrom: { secretKeyRef: { name: secret.metadata.name, key } } };
}
