import { createPolicy } from "@infra/cilium";
import { selectorLabels } from "@infra/k8s";
import type * as k8s from "@pulumi/kubernetes";

/** A service of the app that another one calls, on its port. */
export interface AppServiceReach {
  /**
   * The called service's name: one created after the caller (named, since it does not exist
   * yet), or one created before it (two services that call each other).
   */
  service: string;
  /** The port it serves (its `port`). */
  port: number;
}

interface Pending {
  caller: string;
  port: number;
  policies: k8s.apiextensions.CustomResource[];
}

/**
 * The paths between services of one app. Each path's two policies (the caller may send, the called
 * service accepts) select pods by their identity labels, so both are created with the caller,
 * before the caller's workload: a called service created later starts after them too, one created
 * earlier was simply not called before.
 */
export class ServiceReaches {
  private readonly pending = new Map<string, Pending[]>();
  /** The services created so far, with the port each serves (none for a worker). */
  private readonly created = new Map<string, number | undefined>();

  constructor(
    private readonly app: string,
    private readonly namespace: k8s.core.v1.Namespace,
  ) {}

  /**
   * The policies of the service `name` (serving `port`, or nothing for a worker): those of the
   * paths to the services it reaches, and those of earlier services' paths to it (which must be on
   * its port).
   */
  policiesOf(
    name: string,
    port: number | undefined,
    reaches: AppServiceReach[],
  ): k8s.apiextensions.CustomResource[] {
    const incoming = this.pending.get(name) ?? [];
    for (const path of incoming) {
      if (path.port !== port) {
        throw new Error(
          `App ${this.app}: service ${path.caller} reaches ${name} on port ${path.port}, but ${name} ` +
            (port === undefined ? "serves no port" : `serves ${port}`),
        );
      }
    }
    this.pending.delete(name);
    this.created.set(name, port);
    const outgoing = reaches.map((reach) => {
      if (reach.service === name) throw new Error(`App ${this.app}: service ${name} reaches itself`);
      if (this.created.has(reach.service)) {
        const served = this.created.get(reach.service);
        if (served !== reach.port) {
          throw new Error(
            `App ${this.app}: service ${name} reaches ${reach.service} on port ${reach.port}, but ${reach.service} ` +
              (served === undefined ? "serves no port" : `serves ${served}`),
          );
        }
        return this.path(name, reach);
      }
      const policies = this.path(name, reach);
      this.pending.set(reach.service, [
        ...(this.pending.get(reach.service) ?? []),
        { caller: name, port: reach.port, policies },
      ]);
      return policies;
    });
    return [...outgoing.flat(), ...incoming.flatMap((path) => path.policies)];
  }

  private path(caller: string, reach: AppServiceReach): k8s.apiextensions.CustomResource[] {
    const ports = [{ port: reach.port }];
    return [
      createPolicy({
        name: `${caller}-to-${reach.service}`,
        description: `${caller} reaches ${reach.service} on port ${reach.port}.`,
        namespace: this.namespace,
        subject: { labels: selectorLabels(caller) },
        egress: [{ peers: [{ endpoints: selectorLabels(reach.service) }], ports }],
      }),
      createPolicy({
        name: `${reach.service}-from-${caller}`,
        description: `${reach.service} accepts ${caller} on port ${reach.port}.`,
        namespace: this.namespace,
        subject: { labels: selectorLabels(reach.service) },
        ingress: [{ peers: [{ endpoints: selectorLabels(caller) }], ports }],
      }),
    ];
  }
}
