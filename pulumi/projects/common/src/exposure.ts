import { createPolicy, type Peer, type PolicySubject } from "@infra/cilium";
import {
  getExistingNamespace,
  identityLabel,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
  type WorkloadService,
} from "@infra/k8s";
import { createTraefikNamespaceAccess } from "@infra/traefik";
import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { getKubernetesProvider } from "./kubernetes";
import { getCloudflareProvider, getCloudflareZoneId } from "./providers";
import { recordExposure, recordPrivateName } from "./recorded-exposures";
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
  /** Names the Gateway, Certificate, routes, Role and policies. */
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
  /** Let the gateway's Traefik pods reach the Service's pods: their ingress, and Traefik's egress. */
  policies: k8s.apiextensions.CustomResource[];
}

/** The Gateway API objects and DNS record that make a hostname reach a Service. */
export interface HttpExposure {
  /** Lets the gateway's Traefik read what it serves in the namespace (`createTraefikNamespaceAccess`). */
  access: { role: k8s.rbac.v1.Role; binding: k8s.rbac.v1.RoleBinding };
  /**
   * Where the listener's certificate comes from: a Certificate of its own for a public name; for a
   * private one, the grant to use the server's wildcard certificate (the internal gateway's), so no
   * private name is ever listed in a certificate (and so in the public Certificate Transparency logs).
   */
  tls:
    | { kind: "own"; certificate: k8s.apiextensions.CustomResource }
    | { kind: "wildcard"; referenceGrant: k8s.apiextensions.CustomResource };
  /**
   * The public hostname's Cloudflare record; none for a private name (the tailnet's private DNS
   * serves it, from the `privateNames` output) nor while another stack holds it (a migration).
   */
  dnsRecord: cloudflare.DnsRecord | undefined;
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
  /** Response headers the HTTPS route sets on every answer. */
  responseHeaders: () => pulumi.Output<{ name: string; value: string }[]>;
}

const gateways: Record<GatewayKind, GatewayFacts> = {
  // The internal gateway's fixed cluster IP, which the subnet router makes reachable from the tailnet only.
  private: {
    project: "internal-gateway",
    address: () => requireStackOutput<string>("internal-gateway", "clusterIp"),
    responseHeaders: () => pulumi.output([]),
  },
  // The server's public address; the public Traefik only accepts Cloudflare's proxies.
  public: {
    project: "public-gateway",
    address: () => requireStackOutput<string>("public-gateway", "publicIp"),
    // HSTS (RFC 6797): browsers ignore it over plain HTTP, so the HTTPS route sends it.
    responseHeaders: () =>
      requireStackOutput<string>("public-gateway", "strictTransportSecurity").apply((value) => [
        { name: "Strict-Transport-Security", value },
      ]),
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
  subject: Exclude<PolicySubject, "all">;
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

export interface GatewayPoliciesArgs {
  /** Names the policies: `<name>-from-<gateway project>` and, in the gateway's namespace, `traefik-to-...`. */
  name: string;
  namespace: k8s.core.v1.Namespace;
  gateway: GatewayKind;
  /** The pods behind the Service (a workload's, or pods with labels). */
  subject: Exclude<PolicySubject, "all">;
  /** The port they listen on. */
  port: number;
}

/** The name of a namespace made with createNamespace or getExistingNamespace. */
function namespaceName(namespace: k8s.core.v1.Namespace): string {
  // namespacedResourceName is `<namespace>/<name>`.
  return namespacedResourceName({ name: "", namespace }).slice(0, -1);
}

/**
 * The two halves of the path from the gateway's Traefik to the pods behind an exposed Service,
 * on their port: the pods accept exactly those Traefik pods, and (a policy in the gateway's
 * namespace) those Traefik pods may send to exactly these pods, nothing else of the cluster.
 * Both select pods by labels, so they can exist before the pods' workload does.
 */
export function createGatewayPolicies(args: GatewayPoliciesArgs): k8s.apiextensions.CustomResource[] {
  const gateway = gateways[args.gateway];
  const podLabels = gatewayOutput<Record<string, string>>(gateway, "podLabels");
  // The identity label selects the gateway's Traefik pods within its namespace.
  const traefik = { [identityLabel]: podLabels.apply((labels) => requireLabel(labels, gateway)) };
  const ingress = createPolicy({
    name: `${args.name}-from-${gateway.project}`,
    description: `The ${gateway.project}'s Traefik reaches ${args.name} on port ${args.port}.`,
    namespace: args.namespace,
    subject: args.subject,
    ingress: [
      {
        peers: [{ endpoints: traefik, namespace: gatewayOutput<string>(gateway, "namespace") }],
        ports: [{ port: args.port }],
      },
    ],
  });
  const appNamespace = namespaceName(args.namespace);
  const backend: Peer =
    "workload" in args.subject
      ? { workload: args.subject.workload }
      : { endpoints: args.subject.labels, namespace: args.namespace.metadata.name };
  // Unique in the gateway's namespace: exposure names are unique within an app's namespace.
  const target = args.name === appNamespace ? args.name : `${appNamespace}-${args.name}`;
  const egress = createPolicy({
    name: `traefik-to-${target}`,
    description: `The ${gateway.project}'s Traefik reaches ${args.name} of namespace ${appNamespace} on port ${args.port}.`,
    // Read under the app's namespace, so reads of it elsewhere in the program (the tailnet router's) keep their own names.
    namespace: getExistingNamespace(gateway.project, getKubernetesProvider(), args.namespace),
    subject: { labels: traefik },
    egress: [{ peers: [backend], ports: [{ port: args.port }] }],
  });
  return [ingress, egress];
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
  /** Other path prefixes of the hostname that other Services of the namespace answer. */
  routes?: HttpExposureRoute[];
  /** Request headers set (replacing what a client sent) on every request passed to a backend. */
  requestHeaders?: Record<string, string>;
  /**
   * Path prefixes under `pathPrefixes` that no Service answers through this exposure (an admin
   * surface kept off it): requests under them are redirected to `redirectHostname`, path kept.
   */
  withheld?: WithheldPaths;
  /**
   * Whether this stack creates the hostname's DNS record: not while another stack has it (the
   * source or the target of a migration), since two A records of one name split the traffic.
   * @default true
   */
  dnsRecord?: boolean;
  /** The parent of the DNS record (the app's component); the rest lives in the namespace. */
  parent?: pulumi.Resource;
}

/** Path prefixes of an exposure's hostname that another Service answers. */
export interface HttpExposureRoute {
  pathPrefixes: string[];
  service: { name: pulumi.Input<string>; port: number };
}

/** Path prefixes an exposure keeps from every Service, sending them to another hostname instead. */
export interface WithheldPaths {
  pathPrefixes: string[];
  /** Where requests under them are redirected (HTTPS, same path), e.g. the private admin hostname. */
  redirectHostname: pulumi.Input<string>;
}

/**
 * The annotation naming the path prefixes an HTTPS route withholds (comma-separated): synth checks
 * that no rule of a public route sends a request under one of them to a backend.
 */
export const withheldPathsAnnotation = "homelab.infra/withheld-paths";

function checkPathPrefixes(name: string, what: string, prefixes: string[]): void {
  if (prefixes.length === 0 || prefixes.some((path) => !path.startsWith("/"))) {
    throw new Error(`Exposure ${name}: ${what} start with "/" (got ${prefixes.join(", ") || "none"})`);
  }
}

/**
 * Makes a hostname reach a Service through a gateway: a Gateway of the gateway's class in the
 * app's namespace (HTTPS, HTTP redirecting to it), the route for the paths (with HSTS on the
 * public gateway), and the Role that lets the gateway's Traefik read them. A public name gets a
 * certificate of its own from the `public` issuer and a proxied Cloudflare record to the server's
 * address; a private name uses the server's wildcard certificate (a ReferenceGrant in its
 * namespace) and is recorded for the tailnet's private DNS (`privateNames`), never published.
 * The policies that open the path are `createGatewayPolicies`; the gateway serves the namespace
 * once it is listed in its project's `servedNamespaces`.
 */
export function createHttpExposure(args: HttpExposureArgs): HttpExposure {
  const { name, namespace } = args;
  const gateway = gateways[args.gateway];
  const pathPrefixes = args.pathPrefixes ?? ["/"];
  checkPathPrefixes(name, "path prefixes", pathPrefixes);
  for (const route of args.routes ?? []) checkPathPrefixes(name, "route path prefixes", route.pathPrefixes);
  const withheld = args.withheld;
  if (withheld) checkPathPrefixes(name, "withheld path prefixes", withheld.pathPrefixes);
  const named = (objectName: string) => ({
    metadata: namespacedMetadata({ name: objectName, namespace }),
    resourceName: namespacedResourceName({ name: objectName, namespace }),
    options: namespacedOptions({ name: objectName, namespace }),
  });
  const listenerPorts = gatewayOutput<ListenerPorts>(gateway, "listenerPorts");
  const tlsSecret = `${name}-tls`;
  const redirectName = `${name}-http-redirect`;
  warnIfNotServed(gateway, namespaceName(namespace));
  // The program exports it, and the stack's monitor checks it (`recordExposure`).
  recordExposure({
    name,
    namespace: namespaceName(namespace),
    hostname: args.hostname,
    gateway: args.gateway,
  });
  const access = createTraefikNamespaceAccess({
    name: `${gateway.project}-${name}`,
    namespace,
    serviceAccount: {
      name: gatewayOutput<string>(gateway, "serviceAccount"),
      namespace: gatewayOutput<string>(gateway, "namespace"),
    },
    served: { gateways: [name], httpRoutes: [name, redirectName] },
  });

  // The Certificate, Gateway and HTTPS route share the app's name (they are of different kinds).
  const own = named(name);
  const tls =
    args.gateway === "private"
      ? useWildcardCertificate(name, namespace)
      : { kind: "own" as const, certificate: createCertificate(own, tlsSecret, args.hostname) };
  const certificateRef =
    tls.kind === "own"
      ? { group: "", kind: "Secret", name: tlsSecret }
      : {
          group: "",
          kind: "Secret",
          name: wildcardCertificate().apply((wildcard) => wildcard.secretName),
          namespace: privateTlsNamespace,
        };

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
            tls: { mode: "Terminate", certificateRefs: [certificateRef] },
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

  const backends = [{ pathPrefixes, service: args.service }, ...(args.routes ?? [])];
  const matches = (prefixes: string[]) => prefixes.map((value) => ({ path: { type: "PathPrefix", value } }));
  const https = new k8s.apiextensions.CustomResource(
    own.resourceName,
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: withheld
        ? {
            ...own.metadata,
            annotations: { [withheldPathsAnnotation]: withheld.pathPrefixes.join(",") },
          }
        : own.metadata,
      spec: {
        parentRefs: [parentRef("https")],
        hostnames: [args.hostname],
        rules: gateway.responseHeaders().apply((headers) => {
          const requestHeaders = Object.entries(args.requestHeaders ?? {}).map(([header, value]) => ({
            name: header,
            value,
          }));
          const filters = [
            ...(requestHeaders.length > 0
              ? [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: requestHeaders } }]
              : []),
            ...(headers.length > 0
              ? [{ type: "ResponseHeaderModifier", responseHeaderModifier: { set: headers } }]
              : []),
          ];
          return [
            ...backends.map((backend) => ({
              matches: matches(backend.pathPrefixes),
              ...(filters.length > 0 ? { filters } : {}),
              backendRefs: [
                { group: "", kind: "Service", name: backend.service.name, port: backend.service.port },
              ],
            })),
            // Gateway API picks the rule of the longest matching prefix, so these win over "/":
            // nothing under them reaches a backend through this hostname.
            ...(withheld
              ? [
                  {
                    matches: matches(withheld.pathPrefixes),
                    filters: [
                      {
                        type: "RequestRedirect",
                        requestRedirect: {
                          scheme: "https",
                          hostname: withheld.redirectHostname,
                          statusCode: 302,
                        },
                      },
                    ],
                  },
                ]
              : []),
          ];
        }),
      },
    },
    own.options,
  );
  const redirectObject = named(redirectName);
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

  const holdsName = args.dnsRecord ?? true;
  if (holdsName && args.gateway === "private") {
    recordPrivateName({ hostname: args.hostname, address: gateway.address() });
  }
  const dnsRecord =
    holdsName && args.gateway === "public"
      ? createDnsRecord({
          name,
          namespace,
          hostname: args.hostname,
          address: gateway.address(),
          proxied: true,
          ...(args.parent ? { parent: args.parent } : {}),
        })
      : undefined;

  return { access, tls, dnsRecord, gateway: gatewayResource, routes: { https, httpRedirect } };
}

/**
 * The namespace of the server's wildcard certificate of its private names (the internal gateway
 * creates it): nothing else lives there, so the internal Traefik, which must read the certificate's
 * Secret, reads no other Secret (the subnet router's keys are in the gateway's own namespace).
 */
export const privateTlsNamespace = "internal-gateway-tls";

/** The internal gateway's wildcard certificate of this server's private names. */
function wildcardCertificate(): pulumi.Output<{ namespace: string; secretName: string }> {
  return requireStackOutput<{ namespace: string; secretName: string }>(
    "internal-gateway",
    "wildcardCertificate",
  );
}

interface NamedObject {
  metadata: k8s.types.input.meta.v1.ObjectMeta;
  resourceName: string;
  options: pulumi.CustomResourceOptions;
}

/** A certificate of one public name from the `public` issuer, its key in `secretName`. */
function createCertificate(
  own: NamedObject,
  secretName: string,
  hostname: pulumi.Input<string>,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    own.resourceName,
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: own.metadata,
      spec: {
        secretName,
        dnsNames: [hostname],
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
}

/**
 * Lets the exposure's Gateway use the server's wildcard certificate, which lives in the internal
 * gateway's TLS namespace: a ReferenceGrant there, from Gateways of the app's namespace to that
 * Secret only (Gateway API refuses a reference to another namespace without one).
 */
function useWildcardCertificate(
  name: string,
  namespace: k8s.core.v1.Namespace,
): { kind: "wildcard"; referenceGrant: k8s.apiextensions.CustomResource } {
  const appNamespace = namespaceName(namespace);
  const wildcard = wildcardCertificate();
  // Read under the app's namespace, as the gateway's policies read the gateway's namespace.
  const tlsNamespace = getExistingNamespace(privateTlsNamespace, getKubernetesProvider(), namespace);
  // Unique in the TLS namespace: exposure names are unique within an app's namespace.
  const grantName = name === appNamespace ? name : `${appNamespace}-${name}`;
  const referenceGrant = new k8s.apiextensions.CustomResource(
    namespacedResourceName({ name: grantName, namespace: tlsNamespace }),
    {
      apiVersion: "gateway.networking.k8s.io/v1beta1",
      kind: "ReferenceGrant",
      metadata: namespacedMetadata({ name: grantName, namespace: tlsNamespace }),
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: appNamespace }],
        to: [{ group: "", kind: "Secret", name: wildcard.apply((certificate) => certificate.secretName) }],
      },
    },
    namespacedOptions({ name: grantName, namespace: tlsNamespace }),
  );
  return { kind: "wildcard", referenceGrant };
}

/**
 * Says at `pulumi up` that the gateway does not serve the namespace yet. Not an error: deploying
 * the app first and then the gateway with the namespace listed never leaves the gateway waiting
 * for access it lacks (synth checks that the stack's configuration agrees).
 */
function warnIfNotServed(gateway: GatewayFacts, namespace: string): void {
  gatewayOutput<string[]>(gateway, "servedNamespaces").apply((served) => {
    if (served.includes(namespace)) return;
    pulumi.log.warn(
      `The ${gateway.project}'s Traefik does not serve namespace "${namespace}" yet: add it to ` +
        `${gateway.project}:servedNamespaces on stack "${pulumi.getStack()}" and deploy ${gateway.project}.`,
    );
  });
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
  const policies = createGatewayPolicies({
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
  return { ...exposure, policies };
}

/**
 * Exposes a Service to the tailnet: a Gateway of the `internal` class in the app's namespace
 * (HTTPS with the server's wildcard certificate, HTTP redirecting to it), the route, the
 * policies that open the path from the internal Traefik, its Role in the namespace, and the
 * private name, which the tailnet's private DNS resolves to the internal gateway's fixed cluster
 * IP (the subnet router makes it reachable from the tailnet only).
 */
export function exposeInternalHttpService(args: ExposeHttpServiceArgs): ExposedHttpService {
  return exposeHttpService("private", args);
}

/**
 * Exposes a Service to the internet through Cloudflare: a Gateway of the `public` class in the
 * app's namespace (HTTPS with a certificate from the `public` issuer, HTTP redirecting to it),
 * the route (sending HSTS), the policies that open the path from the public Traefik, its Role in
 * the namespace, and a proxied A record to the server's public address (the public Traefik only
 * accepts Cloudflare's proxies, with Cloudflare's client certificate).
 */
export function exposePublicHttpService(args: ExposeHttpServiceArgs): ExposedHttpService {
  return exposeHttpService("public", args);
}
