import { classifyHosts, createPolicy, hostPeers } from "@infra/cilium";
import { ConfigError, readConfig, readSecretConfig } from "@infra/core";
import { type EnvValueFrom, getExistingNamespace, identityLabel, selectorLabels } from "@infra/k8s";
import type { AppBucketKey } from "@infra/object-storage";
import { traefikEntryPoints } from "@infra/traefik";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { requireStackOutput } from "../stack-reference";

/**
 * A bucket of an S3 store outside the cluster (a provider's), instead of one on the server's
 * store: where it is, and the key the app uses there (a project's secrets). Its CORS is the
 * provider's to set, and its objects are the provider's to keep: the platform backs up neither.
 */
export interface ExternalBucket {
  /** `https://<host>[:port]`: the store's S3 endpoint, path-style. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}

/** Where an external bucket is: what `<app>:externalBuckets` gives for each bucket it moves. */
const externalBucketLocation = z.strictObject({
  endpoint: z
    .url({ protocol: /^https$/, error: "expected an https:// URL of the store's S3 endpoint" })
    .refine((value) => new URL(value).pathname === "/", {
      error: "expected the endpoint alone, with no path",
    }),
  region: z.string().min(1, { error: "expected the store's region" }),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    error: "expected an S3 bucket name (3 to 63 characters)",
  }),
});

/**
 * The kit's keys of an app project that put its buckets on another S3 store: `externalBuckets`,
 * by the bucket's name in the app (`app.bucket({ name })`), where each is; the two secrets, the
 * key the app uses there (one for all of them). Without them, every bucket is on the server's store.
 */
export const externalBucketKeys = {
  buckets: "externalBuckets",
  accessKeyId: "externalBucketAccessKeyId",
  secretAccessKey: "externalBucketSecretAccessKey",
} as const;

/** The app's external buckets from its project's config, each with the key (empty: none configured). */
export function readExternalBuckets(): Record<string, ExternalBucket> {
  const locations = readConfig(
    externalBucketKeys.buckets,
    z.record(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/), externalBucketLocation).default({}),
  );
  if (Object.keys(locations).length === 0) return {};
  const stack = pulumi.getStack();
  const missing = [externalBucketKeys.accessKeyId, externalBucketKeys.secretAccessKey].filter(
    (key) => new pulumi.Config().get(key) === undefined,
  );
  if (missing.length > 0) {
    throw new ConfigError(
      `Stack "${stack}" sets ${pulumi.getProject()}:${externalBucketKeys.buckets} but not the key its app uses there: ` +
        missing.map((key) => `pulumi config set --secret ${key} <value> --stack ${stack}`).join("; "),
    );
  }
  const accessKeyId = readSecretConfig(externalBucketKeys.accessKeyId);
  const secretAccessKey = readSecretConfig(externalBucketKeys.secretAccessKey);
  return Object.fromEntries(
    Object.entries(locations).map(([name, location]) => [
      name,
      { ...location, accessKeyId, secretAccessKey },
    ]),
  );
}

export interface AppBucketArgs {
  /** The bucket's name in the app (a DNS label); the store's bucket is `<app>-<name>`. */
  name: string;
  /**
   * A bucket of another S3 store instead: no bucket, key or job on the server's store; its users
   * reach its endpoint's host, and nothing else of it. The project's `externalBuckets.<name>`
   * (`readExternalBuckets`) gives one without any code of the app's.
   * @default the project's `externalBuckets.<name>`, else the server's store
   */
  external?: ExternalBucket;
  /**
   * Origins whose browsers use presigned URLs (uploads, downloads): the bucket's CORS allows them
   * GET, PUT, POST, HEAD and DELETE with any header, and shows them the ETag.
   * @default []
   */
  corsOrigins?: pulumi.Input<string>[];
}

/** A bucket of the app, as its containers use it: the key's fields are environment values. */
export interface AppBucketRefs {
  /** The store's bucket name, `<app>-<name>`. */
  bucket: string;
  /**
   * `https://s3.<server>.<domain>`: the S3 endpoint (path-style URLs) of the app and its users'
   * clients, on the internal gateway (the tailnet only); presigned URLs are signed for it.
   */
  endpoint: pulumi.Output<string>;
  /** The store's S3 region. */
  region: pulumi.Output<string>;
  /** The app's key (one per app, allowed to read and write each of its buckets, never to own one). */
  accessKeyId: EnvValueFrom;
  secretAccessKey: EnvValueFrom;
  /** The key's values, for config files that must hold them (put the file in an `app.secret`). */
  credentials: { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> };
  /** The Secret holding `accessKeyId`, `secretAccessKey`, `endpoint` and `region` (mount it where an app reads files). */
  secret: k8s.core.v1.Secret;
}

/** How an app's containers reach a bucket: the server's store (with the app's key), or an external store's host. */
export type BucketAccess =
  | { kind: "store"; key: AppBucketKey; secret: k8s.core.v1.Secret }
  | { kind: "external"; name: string; secret: k8s.core.v1.Secret; host: string; port: number };

// The bucket access each environment value of `app.bucket()` comes from: a service that uses one
// gets the way to its store (and waits for the buckets job of the server's store).
const bucketRefs = new WeakMap<EnvValueFrom, BucketAccess>();

/** Records that an environment value reads a bucket's key. */
export function registerBucketRef(ref: EnvValueFrom, access: BucketAccess): EnvValueFrom {
  bucketRefs.set(ref, access);
  return ref;
}

/** The access of a bucket `app.bucket()` returned. */
export function accessOf(refs: AppBucketRefs): BucketAccess {
  const access = bucketRefs.get(refs.accessKeyId);
  if (!access) throw new Error(`Bucket ${refs.bucket} was not made by app.bucket()`);
  return access;
}

/** The buckets containers use: through an env value of `app.bucket()`, by mounting its Secret, or as `declared`. */
export function bucketsUsed(
  containers: { env?: Record<string, unknown>; volumeMounts?: { volume: unknown }[] }[],
  accesses: BucketAccess[],
  declared: AppBucketRefs[] | undefined,
): BucketAccess[] {
  const used = new Set<BucketAccess>((declared ?? []).map(accessOf));
  for (const container of containers) {
    for (const value of Object.values(container.env ?? {})) {
      const access =
        typeof value === "object" && value !== null ? bucketRefs.get(value as EnvValueFrom) : undefined;
      if (access) used.add(access);
    }
    for (const mount of container.volumeMounts ?? []) {
      for (const access of accesses) if (mount.volume === access.secret) used.add(access);
    }
  }
  return [...used];
}

/** The host and port of an external bucket's endpoint, which its users may reach. */
export function externalEndpoint(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  if (url.protocol !== "https:") throw new Error(`Bucket endpoint ${endpoint}: expected https://`);
  return { host: url.hostname, port: url.port === "" ? 443 : Number(url.port) };
}

/** The policy that lets a client reach an external bucket's host on its port, and nothing else there. */
export function createExternalBucketPolicy(args: {
  client: string;
  namespace: k8s.core.v1.Namespace;
  access: Extract<BucketAccess, { kind: "external" }>;
}): k8s.apiextensions.CustomResource {
  return createPolicy({
    name: `${args.client}-to-bucket-${args.access.name}`,
    description: `${args.client} reaches its bucket ${args.access.name} at ${args.access.host}:${args.access.port}.`,
    namespace: args.namespace,
    subject: { labels: selectorLabels(args.client) },
    egress: [{ peers: hostPeers(classifyHosts([args.access.host])), ports: [{ port: args.access.port }] }],
  });
}

const gateway = "internal-gateway";

/**
 * The two halves of the path from a client's pods to the store's S3 endpoint, which they reach
 * as its users do (its hostname leads to the internal gateway, whose Traefik routes it to the
 * store): the pods may send to the gateway's Traefik on its HTTPS port, and Traefik accepts them
 * there (a policy in the gateway's namespace). The store itself accepts only Traefik and its
 * own jobs.
 */
export function createBucketClientPolicies(args: {
  app: string;
  client: string;
  namespace: k8s.core.v1.Namespace;
  provider: k8s.Provider;
  parent: pulumi.Resource;
}): k8s.apiextensions.CustomResource[] {
  const podLabels = requireStackOutput<Record<string, string>>(gateway, "podLabels");
  const traefik = { [identityLabel]: podLabels.apply((labels) => labels[identityLabel] ?? "") };
  // The port Traefik's HTTPS entrypoint listens on in its pods, behind the Service's 443.
  const ports = [{ port: traefikEntryPoints.websecure.port }];
  const gatewayNamespace = requireStackOutput<string>(gateway, "namespace");
  const client = selectorLabels(args.client);
  const target = args.client === args.app ? args.app : `${args.app}-${args.client}`;
  return [
    createPolicy({
      name: `${args.client}-to-object-storage`,
      description: `${args.client} reaches its buckets through the internal gateway.`,
      namespace: args.namespace,
      subject: { labels: client },
      egress: [{ peers: [{ endpoints: traefik, namespace: gatewayNamespace }], ports }],
    }),
    createPolicy({
      name: `traefik-from-${target}`,
      description: `The internal gateway's Traefik accepts ${args.client} of namespace ${args.app}, a client of its buckets.`,
      namespace: getExistingNamespace(gateway, args.provider, args.parent),
      subject: { labels: traefik },
      ingress: [{ peers: [{ endpoints: client, namespace: args.app }], ports }],
    }),
  ];
}
