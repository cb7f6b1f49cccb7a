import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ContainerArgs } from "./container";
import {
  type NamespacedObjectArgs,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
} from "./metadata";
import { createWorkload, type Workload, type WorkloadArgs } from "./workload";

/** A port of a Service. */
export interface ServicePortArgs {
  /** The port's name (for example `http`). */
  name: string;
  /** The port the Service listens on. */
  port: number;
  /** The container port (number or name); `port` by default. */
  targetPort?: number | string;
  /** `TCP` by default. */
  protocol?: "TCP" | "UDP";
  /**
   * The application protocol, one of Kubernetes' standard `kubernetes.io/` values (KEP-3726):
   * `kubernetes.io/h2c` is HTTP/2 over cleartext with prior knowledge, which Gateway API
   * implementations speak to the backend when a route leads to this port (GEP-1911).
   * @default none (HTTP/1.1 for gateways)
   */
  appProtocol?: "kubernetes.io/h2c";
}

export interface ServiceArgs extends Omit<NamespacedObjectArgs, "namespace"> {
  /** The workload whose pods the Service selects; the Service lives in its namespace. */
  workload: Workload;
  /** The ports. */
  ports: ServicePortArgs[];
  /** `ClusterIP` by default. */
  type?: "ClusterIP" | "NodePort" | "LoadBalancer";
  /** Give the Service no cluster IP (a StatefulSet's governing service). */
  headless?: boolean;
  /**
   * A fixed cluster IP inside the service range, for a Service reached by address from outside
   * the cluster (through a subnet router); Kubernetes picks one otherwise.
   */
  clusterIp?: pulumi.Input<string>;
}

/** Creates a Service that selects a workload's pods by its identity label. */
export function createService(args: ServiceArgs): k8s.core.v1.Service {
  if (args.headless && args.clusterIp !== undefined) {
    throw new Error(`Service ${args.name}: a headless Service has no cluster IP to fix`);
  }
  const objectArgs = { ...args, namespace: args.workload.namespace };
  return new k8s.core.v1.Service(
    namespacedResourceName(objectArgs),
    {
      metadata: namespacedMetadata(objectArgs),
      spec: {
        type: args.type ?? "ClusterIP",
        ...(args.headless ? { clusterIP: "None" } : {}),
        ...(args.clusterIp === undefined ? {} : { clusterIP: args.clusterIp }),
        selector: args.workload.selector,
        ports: args.ports.map((port) => ({
          name: port.name,
          port: port.port,
          targetPort: port.targetPort ?? port.port,
          protocol: port.protocol ?? "TCP",
          ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}),
        })),
      },
    },
    namespacedOptions(objectArgs),
  );
}

export interface WorkloadServiceArgs extends Omit<WorkloadArgs, "container"> {
  /** The port the application listens on and the Service exposes. */
  port: number;
  /** The port's name, `http` by default. */
  portName?: string;
  /** The application protocol of the Service's port (`ServicePortArgs`). @default none */
  appProtocol?: ServicePortArgs["appProtocol"];
  /** The main container; its port is added from `port`. */
  container: ContainerArgs;
}

/** A workload and the Service in front of it. */
export interface WorkloadService {
  workload: Workload;
  service: k8s.core.v1.Service;
  /** The exposed port's number and name. */
  port: { name: string; number: number };
}

/**
 * Creates a workload listening on one port and the ClusterIP Service of the same name in
 * front of it: `createWorkloadService({ name, namespace, port, container: { image, volumeMounts } })`.
 */
export function createWorkloadService(args: WorkloadServiceArgs): WorkloadService {
  const portName = args.portName ?? "http";
  const { port, portName: _portName, appProtocol, ...workloadArgs } = args;
  const workload = createWorkload({
    ...workloadArgs,
    container: { ...args.container, ports: [{ name: portName, port }, ...(args.container.ports ?? [])] },
  });
  const service = createService({
    name: args.name,
    workload,
    ...(args.labels ? { labels: args.labels } : {}),
    ports: [{ name: portName, port, targetPort: portName, ...(appProtocol ? { appProtocol } : {}) }],
    ...(args.options ? { options: args.options } : {}),
  });
  return { workload, service, port: { name: portName, number: port } };
}
