import { classifyHosts, createPolicy, hostPeers, type PortRule } from "@infra/cilium";
import type { AppDatabase } from "@infra/databases";
import {
  type ContainerArgs,
  createService,
  createWorkloadService,
  type EnvValue,
  type EnvValueFrom,
  getExistingNamespace,
  identityLabel,
  type ResourcesArgs,
  type ServicePortArgs,
  selectorLabels,
  type WorkloadService,
} from "@infra/k8s";
import type { JobPair } from "@infra/restic";
import { type RunAs, runAsPodSecurity } from "@infra/scripting";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createGatewayPolicies, createHttpExposure, type GatewayKind, type HttpExposure } from "../exposure";
import { recordPrivateName } from "../recorded-exposures";
import { checkTailnetPorts, reservedServiceAddress, type ServiceAddressOwner } from "../service-addresses";
import { getSharedEnvironment } from "../shared";
import { requireStackOutput } from "../stack-reference";
import {
  type AppBucketRefs,
  type BucketAccess,
  bucketsUsed,
  createBucketClientPolicies,
  createExternalBucketPolicy,
} from "./bucket";
import type { AppJob } from "./job";
import type { AppServiceReach } from "./reach";

/** Hosts outside the cluster a service must reach, on these ports: nothing else outside is reachable. */
export interface AppEgress {
  /** DNS names, `*.` patterns, IPv4 addresses or CIDRs. */
  hosts: string[];
  ports: PortRule[];
}

/** Where a gateway makes a service reachable over HTTPS. */
export interface AppExposure {
  /** `private`: the tailnet only, through the internal gateway; `public`: the internet, through Cloudflare. */
  gateway: GatewayKind;
  /** Its DNS name (`resolveHostname`). */
  hostname: pulumi.Input<string>;
  /**
   * Only requests under these paths reach the service.
   * @default ["/"]
   */
  paths?: string[];
  /**
   * Names its Gateway, Certificate and routes (a DNS label).
   * @default the service's name; required for every exposure after the first
   */
  name?: string;
  /**
   * Other paths of the hostname, answered by other services of the app created before this one,
   * each with this gateway in its `routedBy`: `[{ paths: ["/ui/v2/login"], service: login }]`.
   * @default []
   */
  routes?: { paths: string[]; service: AppService }[];
  /**
   * Paths under `paths` that this exposure keeps from every service, such as an admin surface
   * served on a private hostname instead: requests under them are redirected to `redirectTo`
   * (same path). On the public gateway, synth checks that no rule sends them to a backend.
   * @default none
   */
  withheld?: { paths: string[]; redirectTo: pulumi.Input<string> };
  /**
   * Request headers the gateway sets on every request it passes on, replacing a client's (for
   * example `X-Forwarded-Proto` for an app that builds redirects from it).
   * @default {}
   */
  requestHeaders?: Record<string, string>;
}

/**
 * Ports the tailnet reaches by address, for a protocol no HTTP gateway carries (Syncthing's sync
 * protocol): a Service on the app's fixed cluster IP, which the internal gateway's subnet router
 * advertises as a /32, and a DNS name for it. The tailnet policy grants the ports
 * `reservedServiceAddresses` lists for the address, and only those.
 */
export interface AppTailnetPorts {
  /** Whose fixed address it is (`reservedServiceAddresses`). */
  address: ServiceAddressOwner;
  hostname: pulumi.Input<string>;
  /**
   * The ports: exactly those `reservedServiceAddresses` lists for the address (anything else fails,
   * naming both). The main container must listen on each (`container.ports`).
   */
  ports: ServicePortArgs[];
}

export interface AppServiceArgs {
  /**
   * The workload's and Service's name (a DNS label).
   * @default the app's name
   */
  name?: string;
  /** The port the main container serves HTTP on, and the Service exposes. */
  port: number;
  /** @default "http" */
  portName?: string;
  /**
   * What the port speaks: `http` (HTTP/1.1, and HTTP/2 only where a client negotiates it) or
   * `h2c` (HTTP/2 over cleartext, which gRPC needs): the Service port gets `appProtocol:
   * kubernetes.io/h2c`, which Traefik's Gateway API provider reads to speak h2c to the pods.
   * @default "http"
   */
  protocol?: "http" | "h2c";
  /**
   * The main container. Reference the app's database through the fields `app.database()` returns.
   * Its `resources` (like every container's here) default to `defaultAppResources`.
   */
  container: ContainerArgs;
  /** Containers beside it, sharing its network. */
  sidecars?: ContainerArgs[];
  /** Containers that run to completion before the others start. */
  initContainers?: ContainerArgs[];
  /** Seconds the pod gets to stop. */
  terminationGracePeriodSeconds?: number;
  /** Where gateways make it reachable; nothing else reaches it from outside its namespace. */
  exposures?: AppExposure[];
  /** What it reaches outside the cluster; nothing else there. */
  egress?: AppEgress[];
  /** Ports the tailnet reaches by address, beside the gateways. */
  tailnetPorts?: AppTailnetPorts;
  /**
   * Gateways that send it requests for a later service's exposure (that exposure's `routes`): it
   * gets the policies from them now, so that they exist before its workload.
   * @default []
   */
  routedBy?: GatewayKind[];
  /**
   * The app's jobs it starts after (Pulumi creates it once they completed).
   * @default every job the app created before it
   */
  after?: AppJob[];
  /**
   * Buckets of the app it uses without referencing their key in its containers' environment
   * (through a config file that holds it): it gets the way to the store and waits for them.
   * @default []
   */
  buckets?: AppBucketRefs[];
  /**
   * Other services of the app it calls, each created after it (so the policies of the path exist
   * before both): named, since they do not exist yet.
   * @default []
   */
  reaches?: AppServiceReach[];
  /**
   * What else its workload waits for, made by the app itself outside the kit (a certificate it
   * mounts, a policy of its own).
   * @default []
   */
  dependsOn?: pulumi.Resource[];
}

/** A service of an app and what exposes it. */
export interface AppService extends WorkloadService {
  /** The workload's and Service's name. */
  name: string;
  /** By exposure name. */
  exposures: Record<string, HttpExposure>;
  /** `https://<hostname>` of each exposure, in order. */
  urls: pulumi.Output<string>[];
  /** The policies its pods need, created before them. */
  policies: k8s.apiextensions.CustomResource[];
  /** The gateways that may send it requests (its exposures' and `routedBy`). */
  gateways: GatewayKind[];
  /** The Service on its fixed cluster IP, when the tailnet reaches ports of it by address. */
  tailnetService?: k8s.core.v1.Service;
}

/**
 * The compute resources of an app's container that sets none: a small reservation, a memory ceiling
 * that stops a leak before it takes the single node (and the API server's k3s with it), and no CPU
 * limit, since a throttled app answers its users slowly. A container that needs more sets its own.
 */
export const defaultAppResources: ResourcesArgs = {
  requests: { cpu: "10m", memory: "64Mi" },
  limits: { memory: "512Mi" },
};

/** The container with `defaultAppResources` when it sets none. */
export function withResources(container: ContainerArgs): ContainerArgs {
  return container.resources ? container : { ...container, resources: defaultAppResources };
}

// The database each environment value of `app.database()` comes from: a service that uses one
// gets the policies to it and waits for it.
const databaseRefs = new WeakMap<EnvValueFrom, AppDatabase>();

/** Records that an environment value reads the database's Secret. */
export function registerDatabaseRef(ref: EnvValueFrom, database: AppDatabase): EnvValueFrom {
  databaseRefs.set(ref, database);
  return ref;
}

function isEnvValueFrom(value: EnvValue): value is EnvValueFrom {
  return (
    typeof value === "object" && value !== null && !pulumi.Output.isInstance(value) && "valueFrom" in value
  );
}

/** The databases the containers use: through a value of `app.database()`, or by mounting its Secret. */
export function databasesUsed(containers: ContainerArgs[], databases: AppDatabase[]): AppDatabase[] {
  const used = new Set<AppDatabase>();
  for (const container of containers) {
    for (const value of Object.values(container.env ?? {})) {
      const database = isEnvValueFrom(value) ? databaseRefs.get(value) : undefined;
      if (database) used.add(database);
    }
    for (const mount of container.volumeMounts ?? []) {
      const database = databases.find((candidate) => candidate.secret === mount.volume);
      if (database) used.add(database);
    }
  }
  return [...used];
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function exposureNames(service: string, exposures: AppExposure[]): string[] {
  const names = exposures.map((exposure, index) => {
    if (exposure.name === undefined && index > 0) {
      throw new Error(`Service ${service}: name every exposure after the first`);
    }
    return exposure.name ?? service;
  });
  for (const name of names) {
    if (!dnsLabel.test(name))
      throw new Error(`Service ${service}: exposure "${name}" needs a DNS label name`);
    if (names.indexOf(name) !== names.lastIndexOf(name)) {
      throw new Error(`Service ${service}: two exposures are named "${name}"`);
    }
  }
  return names;
}

const routerProject = "internal-gateway";

/**
 * The policies of tailnet ports: the subnet router's pods may send to the service's pods on
 * them (a policy in the router's namespace), and the service's pods accept them.
 */
function tailnetPolicies(
  options: CreateAppServiceArgs,
  name: string,
  ports: ServicePortArgs[],
): k8s.apiextensions.CustomResource[] {
  const routerLabels = requireStackOutput<Record<string, string>>(routerProject, "routerPodLabels");
  const router = { [identityLabel]: routerLabels.apply((labels) => labels[identityLabel] ?? "") };
  const routerNamespace = requireStackOutput<string>(routerProject, "namespace");
  const rules = ports.map((port) => ({ port: port.port, protocol: port.protocol ?? ("TCP" as const) }));
  // The app's name is its namespace's: with the service's, it is unique in the router's namespace.
  const target = name === options.app ? name : `${options.app}-${name}`;
  return [
    createPolicy({
      name: `${name}-from-tailnet`,
      description: `Tailnet devices reach ${name} by address, through the subnet router.`,
      namespace: options.namespace,
      subject: { labels: selectorLabels(name) },
      ingress: [{ peers: [{ endpoints: router, namespace: routerNamespace }], ports: rules }],
    }),
    createPolicy({
      name: `tailscale-router-to-${target}`,
      description: `The subnet router forwards tailnet traffic to ${name} of namespace ${options.app}.`,
      namespace: getExistingNamespace(routerProject, options.provider, options.component),
      subject: { labels: router },
      egress: [{ peers: [{ endpoints: selectorLabels(name), namespace: options.app }], ports: rules }],
    }),
  ];
}

/** An app's buckets: how each is reached, and the job that made those on the server's store. */
export interface AppBuckets {
  accesses: BucketAccess[];
  storeJob: k8s.batch.v1.Job | undefined;
}

/**
 * The policies of a workload of the app that uses its buckets, and the job it must wait for;
 * nothing for one that does not.
 */
function bucketAccess(options: {
  app: string;
  client: string;
  namespace: k8s.core.v1.Namespace;
  provider: k8s.Provider;
  component: pulumi.ComponentResource;
  containers: ContainerArgs[];
  buckets: AppBuckets | undefined;
  declared: AppBucketRefs[] | undefined;
}): { policies: k8s.apiextensions.CustomResource[]; dependsOn: pulumi.Resource[] } {
  const used = options.buckets
    ? bucketsUsed(options.containers, options.buckets.accesses, options.declared)
    : [];
  const store = used.some((access) => access.kind === "store");
  return {
    policies: [
      ...(store
        ? createBucketClientPolicies({
            app: options.app,
            client: options.client,
            namespace: options.namespace,
            provider: options.provider,
            parent: options.component,
          })
        : []),
      ...used.flatMap((access) =>
        access.kind === "external"
          ? [createExternalBucketPolicy({ client: options.client, namespace: options.namespace, access })]
          : [],
      ),
    ],
    dependsOn: store && options.buckets?.storeJob ? [options.buckets.storeJob] : [],
  };
}

/** The containers of a workload of the app. */
export interface AppPodContainers {
  container: ContainerArgs;
  sidecars?: ContainerArgs[];
  initContainers?: ContainerArgs[];
  terminationGracePeriodSeconds?: number;
}

/**
 * The pod of a service or worker of the app: its containers with their default resources, as the
 * app's user, none while the app is the stopped source of a migration, created after the app's
 * restore, its jobs and `dependsOn` (what it uses, its policies).
 */
export function appPod(
  options: Pick<CreateAppServiceArgs, "user" | "here" | "backups" | "jobs">,
  args: AppPodContainers,
  dependsOn: pulumi.Resource[],
) {
  return {
    container: withResources(args.container),
    ...(args.sidecars ? { sidecars: args.sidecars.map(withResources) } : {}),
    ...(args.initContainers ? { initContainers: args.initContainers.map(withResources) } : {}),
    podSecurity: runAsPodSecurity(options.user),
    // The source of a migration runs no pod, so that nothing writes after its final backup.
    ...(options.here.stopped ? { replicas: 0 } : {}),
    ...(args.terminationGracePeriodSeconds === undefined
      ? {}
      : { terminationGracePeriodSeconds: args.terminationGracePeriodSeconds }),
    options: {
      dependsOn: [...(options.backups?.dependsOn ?? []), ...dependsOn, ...options.jobs.map((job) => job.job)],
    },
  };
}

/**
 * What a workload of the app sends out of its namespace: policies to the databases and buckets its
 * containers use and to the hosts it declares outside the cluster (nothing else there), and what
 * it must start after (those databases, the buckets' job).
 */
export function outboundAccess(options: {
  app: string;
  name: string;
  namespace: k8s.core.v1.Namespace;
  provider: k8s.Provider;
  component: pulumi.ComponentResource;
  containers: ContainerArgs[];
  databases: AppDatabase[];
  buckets?: AppBuckets | undefined;
  declaredBuckets: AppBucketRefs[] | undefined;
  egress: AppEgress[] | undefined;
}): { policies: k8s.apiextensions.CustomResource[]; dependsOn: pulumi.Resource[] } {
  const { name, namespace } = options;
  const subject = { labels: selectorLabels(name) };
  const used = databasesUsed(options.containers, options.databases);
  const storage = bucketAccess({
    app: options.app,
    client: name,
    namespace,
    provider: options.provider,
    component: options.component,
    containers: options.containers,
    buckets: options.buckets,
    declared: options.declaredBuckets,
  });
  const egress = options.egress ?? [];
  return {
    policies: [
      ...used.flatMap((database) => database.allowClient({ name, labels: subject.labels })),
      ...(egress.length > 0
        ? [
            createPolicy({
              name: `${name}-egress`,
              description: `${name} reaches the hosts it declares outside the cluster, and nothing else there.`,
              namespace,
              subject,
              egress: egress.map((rule) => {
                const peers = hostPeers(classifyHosts(rule.hosts));
                if (peers.length === 0) throw new Error(`Service ${name}: an egress rule names no host`);
                return { peers, ports: rule.ports };
              }),
            }),
          ]
        : []),
      ...storage.policies,
    ],
    dependsOn: [...used.flatMap((database) => database.dependsOn), ...storage.dependsOn],
  };
}

export interface CreateAppServiceArgs {
  /** The app's name, also its namespace's. */
  app: string;
  namespace: k8s.core.v1.Namespace;
  component: pulumi.ComponentResource;
  provider: k8s.Provider;
  databases: AppDatabase[];
  /** The app's backups, if it has data: its workloads start after their restore. */
  backups: JobPair | undefined;
  /** The app's user and group, which its pods run as. */
  user: RunAs;
  /** The jobs it starts after. */
  jobs: AppJob[];
  /** The policies of the paths between it and other services of the app (`ServiceReaches`). */
  reachPolicies: k8s.apiextensions.CustomResource[];
  /** What the app is on this stack (`pulumi/placement.yaml`): stopped, and whether it has its DNS records. */
  here: { stopped: boolean; dnsRecords: boolean };
  /** The app's bucket key and the job that made its buckets, when it has any. */
  buckets?: AppBuckets;
  args: AppServiceArgs;
}

/**
 * A service of an app: its policies (to the databases its containers reference, to its declared
 * egress, from its gateways, to and from the services it reaches or is reached by), then its
 * workload and Service, which wait for those policies, for the app's restore, its databases and
 * its jobs, then its exposures.
 */
export function createAppService(options: CreateAppServiceArgs): AppService {
  const { namespace, args } = options;
  const name = args.name ?? options.app;
  if (!dnsLabel.test(name)) throw new Error(`App ${options.app}: service "${name}" needs a DNS label name`);
  // Labels select the pods before their workload exists; they are the identity label it derives.
  const subject = { labels: selectorLabels(name) };
  const containers = [args.container, ...(args.sidecars ?? []), ...(args.initContainers ?? [])];
  const exposures = args.exposures ?? [];
  const names = exposureNames(name, exposures);
  if (args.tailnetPorts) checkTailnetPorts(args.tailnetPorts.address, args.tailnetPorts.ports);
  for (const exposure of exposures) {
    for (const route of exposure.routes ?? []) {
      if (!route.service.gateways.includes(exposure.gateway)) {
        throw new Error(
          `Service ${name}: its ${exposure.gateway} exposure routes ${route.paths.join(", ")} to ` +
            `${route.service.name}, which needs routedBy: ["${exposure.gateway}"] (its policies from the gateway)`,
        );
      }
    }
  }
  const outbound = outboundAccess({
    ...options,
    name,
    containers,
    egress: args.egress,
    declaredBuckets: args.buckets,
  });
  const exposed = [...new Set(exposures.map((exposure) => exposure.gateway))];
  // An exposure's own policies already let its gateway reach the pods on the port.
  const routedOnly = [...new Set(args.routedBy ?? [])].filter((gateway) => !exposed.includes(gateway));

  const policies = [
    ...outbound.policies,
    ...exposures.flatMap((exposure, index) => [
      ...createGatewayPolicies({
        name: names[index] as string,
        namespace,
        gateway: exposure.gateway,
        subject,
        port: args.port,
      }),
    ]),
    ...routedOnly.flatMap((gateway) =>
      createGatewayPolicies({ name, namespace, gateway, subject, port: args.port }),
    ),
    ...(args.tailnetPorts ? tailnetPolicies(options, name, args.tailnetPorts.ports) : []),
    ...options.reachPolicies,
  ];

  const workloadService = createWorkloadService({
    name,
    namespace,
    port: args.port,
    ...(args.portName ? { portName: args.portName } : {}),
    ...(args.protocol === "h2c" ? { appProtocol: "kubernetes.io/h2c" as const } : {}),
    ...appPod(options, args, [...outbound.dependsOn, ...policies, ...(args.dependsOn ?? [])]),
  });

  const created = Object.fromEntries(
    exposures.map((exposure, index) => [
      names[index] as string,
      createHttpExposure({
        name: names[index] as string,
        namespace,
        gateway: exposure.gateway,
        service: { name: workloadService.service.metadata.name, port: workloadService.port.number },
        hostname: exposure.hostname,
        ...(exposure.paths ? { pathPrefixes: exposure.paths } : {}),
        ...(exposure.routes
          ? {
              routes: exposure.routes.map((route) => ({
                pathPrefixes: route.paths,
                service: { name: route.service.service.metadata.name, port: route.service.port.number },
              })),
            }
          : {}),
        ...(exposure.requestHeaders ? { requestHeaders: exposure.requestHeaders } : {}),
        ...(exposure.withheld
          ? {
              withheld: {
                pathPrefixes: exposure.withheld.paths,
                redirectHostname: exposure.withheld.redirectTo,
              },
            }
          : {}),
        dnsRecord: options.here.dnsRecords,
        parent: options.component,
      }),
    ]),
  );
  const tailnetService = args.tailnetPorts
    ? createTailnetService(options, name, workloadService, args.tailnetPorts)
    : undefined;
  return {
    ...workloadService,
    name,
    exposures: created,
    urls: exposures.map((exposure) => pulumi.interpolate`https://${exposure.hostname}`),
    policies,
    gateways: [...exposed, ...routedOnly],
    ...(tailnetService ? { tailnetService } : {}),
  };
}

/** The Service on the app's fixed cluster IP, and the private name that resolves to it in the tailnet. */
function createTailnetService(
  options: CreateAppServiceArgs,
  name: string,
  workloadService: WorkloadService,
  tailnet: AppTailnetPorts,
): k8s.core.v1.Service {
  const address = getSharedEnvironment().network.apply((network) =>
    reservedServiceAddress(network.serviceCidr, tailnet.address),
  );
  const service = createService({
    name: `${name}-tailnet`,
    workload: workloadService.workload,
    ports: tailnet.ports,
    clusterIp: address,
  });
  // A private name: the tailnet's private DNS serves it, never Cloudflare.
  if (options.here.dnsRecords) recordPrivateName({ hostname: tailnet.hostname, address });
  return service;
}
