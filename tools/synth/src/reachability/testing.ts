import { buildModel, type Model, type ModelOptions } from "./model";

type Ports = { name?: string; containerPort: number; protocol?: string }[];

/** A Deployment whose pods carry `app: <name>` and these labels. */
export function deployment(
  namespace: string,
  name: string,
  options: { labels?: Record<string, string>; ports?: Ports; env?: { name: string; value: string }[] } = {},
): Record<string, unknown> {
  const labels = { app: name, ...options.labels };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name,
              image: "example/app:1",
              ...(options.ports ? { ports: options.ports } : {}),
              env: options.env,
            },
          ],
        },
      },
    },
  };
}

/** A CiliumNetworkPolicy in `namespace`. */
export function cnp(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name, namespace }, spec };
}

/** A CiliumClusterwideNetworkPolicy. */
export function ccnp(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "cilium.io/v2", kind: "CiliumClusterwideNetworkPolicy", metadata: { name }, spec };
}

/** A cluster-wide policy letting every pod send anywhere and receive from anywhere (to test one side alone). */
export function openEverything(direction: "ingress" | "egress"): Record<string, unknown> {
  return ccnp(`open-${direction}`, { endpointSelector: {}, [direction]: [{}] });
}

/** A model of these objects alone (no k3s system pods). */
export function modelOf(objects: Record<string, unknown>[], options: ModelOptions = {}): Model {
  return buildModel(objects, { systemPods: [], ...options });
}
