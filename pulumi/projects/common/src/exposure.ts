import { createPolicy, type PolicySubject } from "@infra/cilium";
import {
  identityLabel,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
  type WorkloadService,
} from "@infra/k8s";
import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { getCloudflareProvider, getCloudflareZoneId } from "./providers";
import { requireStackOutput } from "./stack-reference";

/** A Service that is not a `WorkloadService` (for example one a Helm chart creates). */
export interface ServiceReference {
  name: pulumi.Input<string>;
  /** The Service's port. */
  port: number;
  /** The labels of the pods behind it. */
  selector: Record<string, string>;
  /** The port the pods listen on; `port` by default. */
  targetPort?: number;
}

/** Which gateway a Service is reached through: the tailnet's (private) or Cloudflare's (public). */
export type GatewayKind = "private" | "public";

export interface ExposeHttpServiceArgs {
  /** Names the Gateway, Certificate, routes and policy. */
  name: string;
  /** The app's namespace: the Gateway, Certificate and routes live next to the Service. */
  namespace: k8s.core.v1.Namespace;
  /** The Service that answers HTTP. */
  service: WorkloadService | ServiceReference;
  /** The app's DNS name; a certificate is issued for it. */
  hostname: pulumi.Input<string>;
  /**
   * Only requests under these paths reach the Service.
   * @default ["/"]
   */
  pathPrefixes?: string[];
}

/** What exposing a Service created. */
export interface ExposedHttpService extends HttpExposure {
  /** Lets the gateway's Traefik pods reach the Service's pods. */
  policy: k8s.apiextensions.CustomResource;
}

/** The Gateway API objects and DNS record that make a hostname reach a Service. */
export interface HttpExposure {
  certificate: k8s.apiextensions.CustomResource;
  dnsRecord: cloudflare.DnsRecord;
  gateway: k8s.apiextensions.CustomResource;
  routes: {
    /** The route to the Service on the HTTPS listener (apps may attach more rules beside it). */
    https: k8s.apiextensions.CustomResource;
    /** The HTTP listener's only route: a redirect to HTTPS. */
    httpRedirect: k8s.apiextensions.CustomResource;
  };
}

/** What a gateway project exports, as the exposure reads it. */
interface GatewayFacts {
  project: "internal-gateway" | "public-gateway";
  /** The DNS record's target. */
  address: () => pulumi.Output<string>;
  /** Proxied records hide the address behind Cloudflare (public apps only). */
  proxied: boolean;
}

const gateways: Record<GatewayKind, GatewayFacts> = {
  // The internal gateway's fixed cluster IP, which the subnet router makes reachable from the tailnet only.
  private: {
    project: "internal-gateway",
    address: () => requireStackOutput<string>("internal-gateway", "clusterIp"),
    proxied: false,
  },
  // The server's public address; the public Traefik only accepts Cloudflare's proxies.
  public: {
    project: "public-gateway",
    address: () => requireStackOutput<string>("public-gateway", "publicIp"),
    proxied: true,
  },
};

interface ListenerPorts {
  http: number;
  https: number;
}

function gatewayOutput<T>(gateway: GatewayFacts, output: string): pulumi.Output<T> {
  return requireStackOutput<T>(gateway.project, output);
}

function normalizeService(service: WorkloadService | ServiceReference): {
  name: pulumi.Input<string>;
  port: number;
  targetPort: number;
  subject: PolicySubject;
} {
  if ("workload" in service) {
    return {
      name: service.service.metadata.name,
      port: service.port.number,
      // createWorkloadService's container listens on the Service's port.
      targetPort: service.port.number,
      subject: { workload: service.workload },
    };
  }
  return {
    name: service.name,
    port: service.port,
    targetPort: service.targetPort ?? service.port,
    subject: { labels: service.selector },
  };
}

export interface GatewayIngressPolicyArgs {
  /** Names the policy: `<name>-from-<gateway project>`. */
  name: string;
  namespace: k8s.core.v1.Namespace;
  gateway: GatewayKind;
  /** The pods behind the Service. */
  subject: PolicySubject;
  /** The port they listen on. */
  port: number;
}

/**
 * Lets exactly the gateway's Traefik pods reach the pods behind an exposed Service on their port.
 * It selects the pods by labels, so it can exist before their workload does.
 */
export function createGatewayIngressPolicy(args: GatewayIngressPolicyArgs): k8s.apiextensions.CustomResource {
  const gateway = gateways[args.gateway];
  const podLabels = gatewayOutput<Record<string, string>>(gateway, "podLabels");
  return createPolicy({
    name: `${args.name}-from-${gateway.project}`,
    description: `The ${gateway.project}'s Traefik reaches ${args.name} on port ${args.port}.`,
    namespace: args.namespace,
    subject: args.subject,
    ingress: [
      {
        peers: [
          {
            // The identity label selects the gateway's Traefik pods within its namespace.
            endpoints: { [identityLabel]: podLabels.apply((labels) => requireLabel(labels, gateway)) },
            namespace: gatewayOutput<string>(gateway, "namespace"),
          },
        ],
        ports: [{ port: args.port }],
      },
    ],
  });
}

export interface HttpExposureArgs {
  /** Names the Gateway, Certificate and routes. */
  name: string;
  namespace: k8s.core.v1.Namespace;
  gateway: GatewayKind;
  /** The Service the routes lead to, and its port. */
  service: { name: pulumi.Input<string>; port: number };
  hostname: pulumi.Input<string>;
  /** @default ["/"] */
  pathPrefixes?: string[];
  /** The parent of the DNS record (the app's component); the rest lives in the namespace. */
  parent?: pulumi.Resource;
}

/**
 * Makes a hostname reach a Service through a gateway: a Gateway of the gateway's class in the
 * app's namespace (HTTPS with a certificate from the `public` issuer, HTTP redirecting to it),
 * the route for the paths, and an A record to the gateway's address (proxied by Cloudflare for
 * the public one). The policy that lets the gateway in is `createGatewayIngressPolicy`.
 */
export function createHttpExposure(args: HttpExposureArgs): HttpExposure {
  const { name, namespace } = args;
  const gateway = gateways[args.gateway];
  const pathPrefixes = args.pathPrefixes ?? ["/"];
  if (pathPrefixes.length === 0 || pathPrefixes.some((path) => !path.startsWith("/"))) {
    throw new Error(`Exposure ${name}: path prefixes start with "/" (got ${pathPrefixes.join(", ")})`);
  }
  const named = (objectName: string) => ({
    metadata: namespacedMetadata({ name: objectName, namespace }),
    resourceName: namespacedResourceName({ name: objectName, namespace }),
    options: namespacedOptions({ name: objectName, namespace }),
  });
  const listenerPorts = gatewayOutput<ListenerPorts>(gateway, "listenerPorts");
  const tlsSecret = `${name}-tls`;

  // The Certificate, Gateway and HTTPS route share the app's name (they are of different kinds).
  const own = named(name);
  const certificate = new k8s.apiextensions.CustomResource(
    own.resourceName,
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: own.metadata,
      spec: {
        secretName: tlsSecret,
        dnsNames: [args.hostname],
        issuerRef: {
          group: "cert-manager.io",
          kind: "ClusterIssuer",
          name: requireStackOutput<{ public: string }>("cert-manager", "issuers").apply(
            (issuers) => issuers.public,
          ),
        },
      },
    },
    own.options,
  );

  const allowedRoutes = { namespaces: { from: "Same" } };
  const gatewayResource = new k8s.apiextensions.CustomResource(
    own.resourceName,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: own.metadata,
      spec: {
        gatewayClassName: gatewayOutput<string>(gateway, "gatewayClass"),
        listeners: [
          {
            name: "https",
            protocol: "HTTPS",
            port: listenerPorts.apply((ports) => ports.https),
            hostname: args.hostname,
            tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: tlsSecret }] },
            allowedRoutes,
          },
          {
            name: "http",
            protocol: "HTTP",
            port: listenerPorts.apply((ports) => ports.http),
            hostname: args.hostname,
            allowedRoutes,
          },
        ],
      },
    },
    own.options,
  );
  const parentRef = (sectionName: string) => ({
    group: "gateway.networking.k8s.io",
    kind: "Gateway",
    name: gatewayResource.metadata.name,
    sectionName,
  });

  const https = new k8s.apiextensions.CustomResource(
    own.resourceName,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: own.metadata,
      spec: {
        parentRefs: [parentRef("https")],
        hostnames: [args.hostname],
        rules: [
          {
            matches: pathPrefixes.map((value) => ({ path: { type: "PathPrefix", value } })),
            backendRefs: [{ group: "", kind: "Service", name: args.service.name, port: args.service.port }],
          },
        ],
      },
    },
    own.options,
  );
  const redirectObject = named(`${name}-http-redirect`);
  const httpRedirect = new k8s.apiextensions.CustomResource(
    redirectObject.resourceName,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: redirectObject.metadata,
      spec: {
        parentRefs: [parentRef("http")],
        hostnames: [args.hostname],
        rules: [
          {
            // Without a port, the redirect goes to HTTPS's well-known port, the Service's 443.
            filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }],
          },
        ],
      },
    },
    redirectObject.options,
  );

  const dnsRecord = createDnsRecord({
    name,
    namespace,
    hostname: args.hostname,
    address: gateway.address(),
    proxied: gateway.proxied,
    ...(args.parent ? { parent: args.parent } : {}),
  });

  return { certificate, dnsRecord, gateway: gatewayResource, routes: { https, httpRedirect } };
}

export interface DnsRecordArgs {
  /** Names the Pulumi resource, with the namespace: `<namespace>/<name>`. */
  name: string;
  namespace: k8s.core.v1.Namespace;
  hostname: pulumi.Input<string>;
  address: pulumi.Input<string>;
  /** Behind Cloudflare's proxy (public apps only). */
  proxied: boolean;
  parent?: pulumi.Resource;
}

/** An A record in the site's zone, naming this project and stack as its only owner. */
export function createDnsRecord(args: DnsRecordArgs): cloudflare.DnsRecord {
  return new cloudflare.DnsRecord(
    namespacedResourceName({ name: args.name, namespace: args.namespace }),
    {
      zoneId: getCloudflareZoneId(),
      name: args.hostname,
      type: "A",
      content: args.address,
      proxied: args.proxied,
      // Automatic TTL (the only one a proxied record may have).
      ttl: 1,
      // Two stacks must never manage one record: the comment names the owner (synth checks it).
      comment: `Managed by Pulumi: ${pulumi.getProject()}/${pulumi.getStack()}`,
    },
    { provider: getCloudflareProvider(), ...(args.parent ? { parent: args.parent } : {}) },
  );
}

function requireLabel(labels: Record<string, string>, gateway: GatewayFacts): string {
  const value = labels[identityLabel];
  if (value === undefined) {
    throw new Error(`The podLabels output of project "${gateway.project}" lacks the label ${identityLabel}`);
  }
  return value;
}

function exposeHttpService(gateway: GatewayKind, args: ExposeHttpServiceArgs): ExposedHttpService {
  const service = normalizeService(args.service);
  const policy = createGatewayIngressPolicy({
    name: args.name,
    namespace: args.namespace,
    gateway,
    subject: service.subject,
    port: service.targetPort,
  });
  const exposure = createHttpExposure({
    name: args.name,
    namespace: args.namespace,
    gateway,
    service,
    hostname: args.hostname,
    ...(args.pathPrefixes ? { pathPrefixes: args.pathPrefixes } : {}),
  });
  return { ...exposure, policy };
}

/**
 * Exposes a Service to the tailnet: a Gateway of the `internal` class in the app's namespace
 * (HTTPS with a certificate from the `public` issuer, HTTP redirecting to it), the route, the
 * policy that lets the internal Traefik in, and an A record (not proxied) to the internal
 * gateway's fixed cluster IP, which the subnet router makes reachable from the tailnet only.
 */
export function exposeInternalHttpService(args: ExposeHttpServiceArgs): ExposedHttpService {
  return exposeHttpService("private", args);
}

/**
 * Exposes a Service to the internet through Cloudflare: a Gateway of the `public` class in the
 * app's namespace (HTTPS with a certificate from the `public` issuer, HTTP redirecting to it),
 * the route, the policy that lets the public Traefik in, and a proxied A record to the
 * server's public address (the public Traefik only accepts Cloudflare's proxies).
 */
export function exposePublicHttpService(args: ExposeHttpServiceArgs): ExposedHttpService {
  return exposeHttpService("public", args);
}
