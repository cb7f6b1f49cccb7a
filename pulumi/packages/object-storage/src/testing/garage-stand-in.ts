import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * A stand-in for the parts of Garage the store's scripts talk to, for tests on a machine without
 * Garage's binary: its admin API (v2, as `doc/api/garage-admin-v2.json` of deuxfleurs-org/garage
 * documents it: request and response shapes, the bearer token, Garage's JSON errors) and the S3
 * calls that set a bucket's CORS, whose AWS SigV4 signature it verifies as Garage does
 * (`src/api/common/signature/payload.rs`). What it answers follows Garage's handlers where the
 * scripts depend on it: `/health` answers 503 while the layout gives no storage node a role that
 * is up (`System::health`: no partition has a quorum), GetClusterStatus lists the layout's nodes
 * beside the known ones, a metadata snapshot is a copy of the LMDB database in
 * `meta/snapshots/<UTC time to the second>` of which the newest two are kept
 * (`src/model/snapshot.rs`), PutBucketCors and DeleteBucketCors need the key to own the bucket.
 */

export interface StoreKey {
  accessKeyId: string;
  secretAccessKey: string;
  name: string;
}

export interface Permissions {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export interface CorsRule {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export interface StoreBucket {
  id: string;
  globalAlias: string;
  /** By access key id. */
  permissions: Map<string, Permissions>;
  cors?: CorsRule[];
}

export interface LayoutRole {
  id: string;
  zone: string;
  capacity: number | null;
  tags: string[];
}

/** A request to the admin API, as received. */
export interface AdminRequest {
  method: string;
  operation: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: any;
  status: number;
}

/** An S3 request, as received and judged. */
export interface S3Request {
  method: string;
  bucket: string;
  query: string;
  /** The key whose signature was verified; undefined when the request was refused before. */
  accessKeyId?: string;
  signedHeaders: string[];
  /** Whether the key owned the bucket when the request came. */
  ownerAtCall: boolean;
  body: string;
  status: number;
  error?: string;
}

export interface MetadataSnapshot {
  name: string;
  /** sha256 of each file of the snapshot's directory. */
  files: Record<string, string>;
}

export interface GarageStandInOptions {
  /** The admin token (GARAGE_ADMIN_TOKEN). */
  token: string;
  /** The S3 region (`s3_region`). */
  region?: string;
  /** The node's id: the hex of its public key (`meta/node_key.pub`). */
  nodeId?: string;
  /** The store's metadata directory, read when a snapshot is asked for. */
  metaDir?: () => string;
  /** The applied layout; none by default (a new store). */
  layout?: { version: number; roles: LayoutRole[] };
  keys?: StoreKey[];
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** AWS's URI encoding of a SigV4 canonical request (Garage's `uri_encode`). */
function uriEncode(value: string, encodeSlash: boolean): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(char) || (char === "/" && !encodeSlash)) out += char;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The values of an XML element, in order: enough for the CORS documents the scripts send. */
function elements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g"))].map(
    (match) => match[1] as string,
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

export class GarageStandIn {
  readonly token: string;
  readonly region: string;
  readonly nodeId: string;
  readonly keys = new Map<string, StoreKey>();
  readonly buckets = new Map<string, StoreBucket>();
  layout: { version: number; roles: LayoutRole[] };
  staged: LayoutRole[] = [];
  /** Every request but `/health`, in order. */
  readonly adminRequests: AdminRequest[] = [];
  readonly s3Requests: S3Request[] = [];
  /** What happened, one line per call: `AllowBucketKey uploads read write`, `PUT uploads?cors`... */
  readonly calls: string[] = [];
  readonly snapshots: MetadataSnapshot[] = [];
  /** Set: CreateMetadataSnapshot fails on the node with this message, as Garage reports it. */
  snapshotError: string | undefined;
  /** Set: the S3 API answers the CORS calls with this status (an internal error of the store). */
  corsFailure: number | undefined;
  private readonly metaDir: (() => string) | undefined;
  private admin?: Server;
  private s3?: Server;
  private adminPort = 0;
  private s3Port = 0;

  private constructor(options: GarageStandInOptions) {
    this.token = options.token;
    this.region = options.region ?? "garage";
    this.nodeId = options.nodeId ?? hex(32);
    this.metaDir = options.metaDir;
    this.layout = options.layout ?? { version: 0, roles: [] };
    for (const key of options.keys ?? []) this.keys.set(key.accessKeyId, key);
  }

  static async start(options: GarageStandInOptions): Promise<GarageStandIn> {
    const store = new GarageStandIn(options);
    store.admin = createServer((req, res) => void store.handleAdmin(req, res));
    store.s3 = createServer((req, res) => void store.handleS3(req, res));
    store.adminPort = await listen(store.admin);
    store.s3Port = await listen(store.s3);
    return store;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }
  get s3Url(): string {
    return `http://127.0.0.1:${this.s3Port}`;
  }

  /** The bucket of a global alias. */
  bucket(alias: string): StoreBucket {
    const found = [...this.buckets.values()].find((bucket) => bucket.globalAlias === alias);
    if (!found) throw new Error(`the store has no bucket ${alias}`);
    return found;
  }

  /** Stops answering: its ports are closed from then on, as a stopped store's. */
  async stop(): Promise<void> {
    const close = (server?: Server) =>
      new Promise<void>((resolve) => {
        if (!server?.listening) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    await Promise.all([close(this.admin), close(this.s3)]);
  }

  // ---- the admin API ----

  /** Garage's health: every partition needs its node up; a layout without storage nodes has none. */
  private healthy(): boolean {
    const storage = this.layout.roles.filter((role) => role.capacity !== null);
    return storage.length > 0 && storage.every((role) => role.id === this.nodeId);
  }

  private async handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stand-in");
    if (url.pathname === "/health") {
      const healthy = this.healthy();
      res.writeHead(healthy ? 200 : 503, { "content-type": "text/plain" });
      res.end(
        healthy
          ? "Garage is fully operational\n"
          : "Quorum is not available for some/all partitions, reads and writes will fail\n",
      );
      return;
    }
    const raw = await readBody(req);
    const record: AdminRequest = {
      method: req.method ?? "",
      operation: url.pathname.replace(/^\/v2\//, ""),
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      body: undefined,
      status: 0,
    };
    this.adminRequests.push(record);
    let status = 200;
    let answer: unknown;
    try {
      const token = /^Bearer (.*)$/.exec(req.headers.authorization ?? "")?.[1];
      if (token === undefined)
        throw new ApiError(403, "AccessDenied", "Forbidden: Authorization token must be provided");
      if (token !== this.token)
        throw new ApiError(403, "AccessDenied", "Forbidden: Invalid authorization token");
      if (raw.length > 0) {
        try {
          record.body = JSON.parse(raw.toString("utf8"));
        } catch {
          throw new ApiError(400, "InvalidRequest", "Bad request: invalid JSON");
        }
      }
      answer = await this.operation(record);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status = error.status;
      answer = { code: error.code, message: error.message, region: this.region, path: url.pathname };
    }
    record.status = status;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer, null, 2));
  }

  private expect(record: AdminRequest, method: string): void {
    if (record.method !== method)
      throw new ApiError(400, "InvalidRequest", `Bad request: ${record.operation} takes ${method}`);
  }

  private key(id: string | undefined): StoreKey {
    const key = id === undefined ? undefined : this.keys.get(id);
    if (!key) throw new ApiError(404, "NoSuchAccessKey", `Access key not found: ${id}`);
    return key;
  }

  private bucketById(id: string | undefined): StoreBucket {
    const bucket = id === undefined ? undefined : this.buckets.get(id);
    if (!bucket) throw new ApiError(404, "NoSuchBucket", `Bucket not found: ${id}`);
    return bucket;
  }

  private keyInfo(key: StoreKey, showSecret: boolean) {
    return {
      accessKeyId: key.accessKeyId,
      name: key.name,
      secretAccessKey: showSecret ? key.secretAccessKey : null,
      permissions: { createBucket: false },
      buckets: [...this.buckets.values()]
        .filter((bucket) => bucket.permissions.has(key.accessKeyId))
        .map((bucket) => ({
          id: bucket.id,
          globalAliases: [bucket.globalAlias],
          localAliases: [],
          permissions: bucket.permissions.get(key.accessKeyId),
        })),
    };
  }

  private bucketInfo(bucket: StoreBucket) {
    return {
      id: bucket.id,
      globalAliases: [bucket.globalAlias],
      websiteAccess: false,
      websiteConfig: null,
      keys: [...bucket.permissions].map(([accessKeyId, permissions]) => ({
        accessKeyId,
        name: this.keys.get(accessKeyId)?.name ?? "",
        permissions: { ...permissions },
        bucketLocalAliases: [],
      })),
      objects: 0,
      bytes: 0,
      unfinishedUploads: 0,
      unfinishedMultipartUploads: 0,
      unfinishedMultipartUploadParts: 0,
      unfinishedMultipartUploadBytes: 0,
      quotas: { maxSize: null, maxObjects: null },
    };
  }

  private layoutInfo() {
    return {
      version: this.layout.version,
      roles: this.layout.roles.map((role) => ({ ...role, usableCapacity: role.capacity })),
      partitionSize: 0,
      parameters: { zoneRedundancy: "maximum" },
      stagedRoleChanges: this.staged.map((role) => ({ ...role })),
      stagedParameters: null,
    };
  }

  private nodeSelector(record: AdminRequest): void {
    const node = record.query.node;
    if (node !== "self" && node !== "*" && node !== this.nodeId)
      throw new ApiError(400, "InvalidRequest", `Bad request: no node ${node}`);
  }

  private async operation(record: AdminRequest): Promise<unknown> {
    const { body, query } = record;
    switch (record.operation) {
      case "GetNodeInfo":
        this.expect(record, "GET");
        this.nodeSelector(record);
        this.calls.push("GetNodeInfo");
        return {
          success: {
            [this.nodeId]: {
              nodeId: this.nodeId,
              garageVersion: "stand-in",
              garageFeatures: [],
              rustVersion: "none",
              dbEngine: "LMDB",
            },
          },
          error: {},
        };
      case "CreateMetadataSnapshot":
        this.expect(record, "POST");
        this.nodeSelector(record);
        this.calls.push("CreateMetadataSnapshot");
        if (this.snapshotError) return { success: {}, error: { [this.nodeId]: this.snapshotError } };
        await this.snapshot();
        return { success: { [this.nodeId]: null }, error: {} };
      case "GetClusterStatus": {
        this.expect(record, "GET");
        this.calls.push("GetClusterStatus");
        const roleOf = (id: string) => this.layout.roles.find((role) => role.id === id) ?? null;
        const others = this.layout.roles.filter((role) => role.id !== this.nodeId);
        const nodes = [
          {
            id: this.nodeId,
            addr: "127.0.0.1:3901",
            hostname: "object-storage",
            isUp: true,
            draining: false,
          },
          ...others.map((role) => ({
            id: role.id,
            addr: null,
            hostname: null,
            isUp: false,
            draining: false,
          })),
        ]
          .map((node) => ({ ...node, role: roleOf(node.id), lastSeenSecsAgo: null }))
          .sort((a, b) => a.id.localeCompare(b.id));
        return { layoutVersion: this.layout.version, nodes };
      }
      case "GetClusterLayout":
        this.expect(record, "GET");
        this.calls.push("GetClusterLayout");
        return this.layoutInfo();
      case "UpdateClusterLayout": {
        this.expect(record, "POST");
        this.calls.push("UpdateClusterLayout");
        for (const change of body?.roles ?? []) {
          if (!/^[0-9a-f]{64}$/.test(change.id ?? ""))
            throw new ApiError(400, "InvalidRequest", "Bad request: Invalid node identifier");
          if (typeof change.zone !== "string" || !Array.isArray(change.tags))
            throw new ApiError(400, "InvalidRequest", "Bad request: Invalid layout change");
          if (typeof change.capacity === "number" && change.capacity < 1024)
            throw new ApiError(400, "InvalidRequest", "Bad request: Capacity should be at least 1K (1024)");
          this.staged = [...this.staged.filter((role) => role.id !== change.id), change];
        }
        return this.layoutInfo();
      }
      case "ApplyClusterLayout": {
        this.expect(record, "POST");
        this.calls.push("ApplyClusterLayout");
        if (body?.version !== this.layout.version + 1)
          throw new ApiError(
            500,
            "InternalError",
            `Internal error: Invalid new layout version: ${body?.version}, expected ${this.layout.version + 1}`,
          );
        const roles = [...this.layout.roles];
        for (const role of this.staged) {
          const at = roles.findIndex((existing) => existing.id === role.id);
          if (at >= 0) roles[at] = role;
          else roles.push(role);
        }
        this.layout = { version: body.version, roles };
        this.staged = [];
        return { message: [`Layout version ${body.version} applied`], layout: this.layoutInfo() };
      }
      case "GetKeyInfo": {
        this.expect(record, "GET");
        this.calls.push("GetKeyInfo");
        return this.keyInfo(this.key(query.id), query.showSecretKey === "true");
      }
      case "ImportKey": {
        this.expect(record, "POST");
        this.calls.push("ImportKey");
        const { accessKeyId, secretAccessKey, name } = body ?? {};
        if (typeof accessKeyId !== "string" || typeof secretAccessKey !== "string")
          throw new ApiError(
            400,
            "InvalidRequest",
            "Bad request: accessKeyId and secretAccessKey are required",
          );
        if (this.keys.has(accessKeyId))
          throw new ApiError(
            409,
            "KeyAlreadyExists",
            `Key ${accessKeyId} already exists in data store. Even if it is deleted, we can't let you create a new key with the same ID. Sorry.`,
          );
        const key = { accessKeyId, secretAccessKey, name: name ?? "" };
        this.keys.set(accessKeyId, key);
        return this.keyInfo(key, false);
      }
      case "GetBucketInfo": {
        this.expect(record, "GET");
        this.calls.push(`GetBucketInfo ${query.globalAlias ?? query.id}`);
        const bucket =
          query.id !== undefined
            ? this.buckets.get(query.id)
            : [...this.buckets.values()].find((candidate) => candidate.globalAlias === query.globalAlias);
        if (!bucket)
          throw new ApiError(404, "NoSuchBucket", `Bucket not found: ${query.globalAlias ?? query.id}`);
        return this.bucketInfo(bucket);
      }
      case "CreateBucket": {
        this.expect(record, "POST");
        const alias = body?.globalAlias;
        this.calls.push(`CreateBucket ${alias}`);
        if (typeof alias !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(alias))
          throw new ApiError(400, "InvalidBucketName", `Invalid bucket name: ${alias}`);
        if ([...this.buckets.values()].some((bucket) => bucket.globalAlias === alias))
          throw new ApiError(409, "BucketAlreadyExists", `Bucket already exists: ${alias}`);
        const bucket: StoreBucket = { id: hex(32), globalAlias: alias, permissions: new Map() };
        this.buckets.set(bucket.id, bucket);
        return this.bucketInfo(bucket);
      }
      case "AllowBucketKey":
      case "DenyBucketKey": {
        this.expect(record, "POST");
        const bucket = this.bucketById(body?.bucketId);
        const key = this.key(body?.accessKeyId);
        const flags = (["read", "write", "owner"] as const).filter(
          (flag) => body?.permissions?.[flag] === true,
        );
        this.calls.push(`${record.operation} ${bucket.globalAlias} ${flags.join(" ")}`);
        // Flags set to true change; the others keep their value (Garage's documented semantic).
        const permissions = bucket.permissions.get(key.accessKeyId) ?? {
          read: false,
          write: false,
          owner: false,
        };
        for (const flag of flags) permissions[flag] = record.operation === "AllowBucketKey";
        bucket.permissions.set(key.accessKeyId, permissions);
        return this.bucketInfo(bucket);
      }
      default:
        throw new ApiError(400, "InvalidRequest", `Bad request: unknown operation ${record.operation}`);
    }
  }

  /** What Garage's `snapshot_metadata` does with an LMDB database. */
  private async snapshot(): Promise<void> {
    if (!this.metaDir) throw new ApiError(500, "InternalError", "Internal error: no metadata directory");
    const meta = this.metaDir();
    const snapshots = join(meta, "snapshots");
    await mkdir(snapshots, { recursive: true });
    const name = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const target = join(snapshots, name);
    if (await stat(target).catch(() => undefined))
      throw new ApiError(500, "InternalError", `Internal error: snapshot ${name} exists`);
    await mkdir(target);
    // LMDB's copy (mdb_env_copy) writes the database file alone, without the lock file.
    await copyFile(join(meta, "db.lmdb", "data.mdb"), join(target, "data.mdb"));
    this.snapshots.push({ name, files: { "data.mdb": sha256(await readFile(join(target, "data.mdb"))) } });
    const names = (await readdir(snapshots)).filter((entry) => entry.length > 8).sort();
    for (const old of names.slice(0, -2)) await rm(join(snapshots, old), { recursive: true, force: true });
  }

  // ---- S3 ----

  private async handleS3(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = "/", query = ""] = (req.url ?? "/").split(/\?(.*)/s);
    const body = await readBody(req);
    const bucketName = decodeURIComponent(path.slice(1).split("/")[0] ?? "");
    const record: S3Request = {
      method: req.method ?? "",
      bucket: bucketName,
      query,
      signedHeaders: [],
      ownerAtCall: false,
      body: body.toString("utf8"),
      status: 0,
    };
    this.s3Requests.push(record);
    let status = 200;
    let answer = "";
    const cors = new URLSearchParams(query).has("cors");
    if (cors) this.calls.push(`${req.method} ${bucketName}?cors`);
    try {
      const key = this.verifySignature(req, path, query, body, record);
      record.accessKeyId = key.accessKeyId;
      if (!cors || (req.method !== "PUT" && req.method !== "DELETE"))
        throw new ApiError(
          501,
          "NotImplemented",
          `${req.method} ${path}?${query} is not part of this stand-in`,
        );
      const bucket = [...this.buckets.values()].find((candidate) => candidate.globalAlias === bucketName);
      if (!bucket) throw new ApiError(404, "NoSuchBucket", `Bucket not found: ${bucketName}`);
      record.ownerAtCall = bucket.permissions.get(key.accessKeyId)?.owner === true;
      // A bucket's configuration is its owners' (Garage's Authorization::Owner).
      if (!record.ownerAtCall)
        throw new ApiError(403, "AccessDenied", "Operation is not allowed for this key.");
      if (this.corsFailure)
        throw new ApiError(this.corsFailure, "InternalError", "Internal error: stand-in failure");
      if (req.method === "DELETE") {
        delete bucket.cors;
        status = 204;
      } else {
        this.checkContentMd5(req, body);
        bucket.cors = this.parseCors(body.toString("utf8"));
      }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status = error.status;
      record.error = `${error.code}: ${error.message}`;
      answer = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${error.code}</Code><Message>${error.message}</Message><Resource>${path}</Resource><Region>${this.region}</Region></Error>`;
    }
    record.status = status;
    res.writeHead(status, answer ? { "content-type": "application/xml" } : {});
    res.end(answer);
  }

  /** Garage's check of a request signed in its Authorization header; the key it was signed with. */
  private verifySignature(
    req: IncomingMessage,
    path: string,
    query: string,
    body: Buffer,
    record: S3Request,
  ): StoreKey {
    const bad = (message: string) => new ApiError(400, "InvalidRequest", `Bad request: ${message}`);
    const authorization = req.headers.authorization;
    if (!authorization) throw new ApiError(403, "AccessDenied", "Forbidden: anonymous requests are refused");
    const match = /^AWS4-HMAC-SHA256 (.*)$/.exec(authorization);
    if (!match) throw bad("Unsupported authorization method");
    const fields: Record<string, string | undefined> = Object.fromEntries(
      (match[1] as string).split(",").map((part) => {
        const [name, ...value] = part.trim().split("=");
        return [name, value.join("=")];
      }),
    );
    const { Credential: credential, SignedHeaders: signed, Signature: signature } = fields;
    if (!credential || !signed || !signature) throw bad("incomplete Authorization header");
    const contentSha256 = req.headers["x-amz-content-sha256"];
    if (typeof contentSha256 !== "string") throw bad("Missing X-Amz-Content-Sha256 field");
    const date = req.headers["x-amz-date"];
    if (typeof date !== "string" || !/^\d{8}T\d{6}Z$/.test(date)) throw bad("Missing X-Amz-Date field");
    const when = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    if (Date.now() - when > 24 * 3600 * 1000) throw bad("Date is too old");
    const signedHeaders = signed.split(";").sort();
    record.signedHeaders = signedHeaders;
    if (!signedHeaders.includes("host")) throw bad("Header `Host` should be signed");
    for (const name of Object.keys(req.headers))
      if (name.startsWith("x-amz-") && !signedHeaders.includes(name))
        throw bad(`Header \`${name}\` should be signed`);
    const slash = credential.indexOf("/");
    const keyId = credential.slice(0, slash);
    const scope = credential.slice(slash + 1);
    if (scope !== `${date.slice(0, 8)}/${this.region}/s3/aws4_request`)
      throw new ApiError(
        400,
        "AuthorizationHeaderMalformed",
        `Authorization header malformed, unexpected scope: ${scope}`,
      );
    const key = this.keys.get(keyId);
    if (!key) throw new ApiError(403, "AccessDenied", `Forbidden: No such key: ${keyId}`);

    const canonicalQuery = [...new URLSearchParams(query)]
      .map(([name, value]) => `${uriEncode(name, true)}=${uriEncode(value, true)}`)
      .sort()
      .join("&");
    const headerLines = signedHeaders.map((name) => {
      const value = req.headers[name];
      if (value === undefined) throw bad(`signed header \`${name}\` is not present`);
      return `${name}:${(Array.isArray(value) ? value.join(",") : value).trim()}`;
    });
    const canonicalRequest = [
      req.method,
      path,
      canonicalQuery,
      ...headerLines,
      "",
      signedHeaders.join(";"),
      contentSha256,
    ].join("\n");
    const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256(canonicalRequest)].join("\n");
    const signingKey = ["s3", "aws4_request"].reduce(
      (current, part) => hmac(current, part),
      hmac(hmac(`AWS4${key.secretAccessKey}`, date.slice(0, 8)), this.region),
    );
    const expected = hmac(signingKey, stringToSign);
    const given = Buffer.from(signature, "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new ApiError(403, "AccessDenied", "Forbidden: Invalid signature");
    if (/^[0-9a-f]{64}$/.test(contentSha256)) {
      if (contentSha256 !== sha256(body))
        throw bad("Invalid content sha256 hash: the body does not match it");
    } else if (contentSha256 !== "UNSIGNED-PAYLOAD") {
      throw bad("invalid or unsupported x-amz-content-sha256");
    }
    return key;
  }

  /**
   * AWS's S3 requires a CORS configuration's Content-MD5 (the base64 of the body's MD5 digest);
   * Garage does not check it. The stand-in holds the script to AWS's rule.
   */
  private checkContentMd5(req: IncomingMessage, body: Buffer): void {
    const given = req.headers["content-md5"];
    if (typeof given !== "string")
      throw new ApiError(400, "InvalidRequest", "Missing required header for this request: Content-MD5");
    if (given !== createHash("md5").update(body).digest("base64"))
      throw new ApiError(
        400,
        "InvalidDigest",
        "The Content-MD5 you specified did not match what was received.",
      );
  }

  private parseCors(xml: string): CorsRule[] {
    if (!/^\s*(<\?xml[^>]*\?>\s*)?<CORSConfiguration[\s>]/.test(xml))
      throw new ApiError(400, "MalformedXML", "The XML you provided was not well-formed");
    const rules = elements(xml, "CORSRule").map((rule) => {
      const maxAge = elements(rule, "MaxAgeSeconds")[0];
      return {
        allowedOrigins: elements(rule, "AllowedOrigin"),
        allowedMethods: elements(rule, "AllowedMethod"),
        allowedHeaders: elements(rule, "AllowedHeader"),
        exposeHeaders: elements(rule, "ExposeHeader"),
        ...(maxAge === undefined ? {} : { maxAgeSeconds: Number(maxAge) }),
      };
    });
    for (const rule of rules) {
      if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0)
        throw new ApiError(400, "MalformedXML", "A CORS rule needs an AllowedOrigin and an AllowedMethod");
      for (const method of rule.allowedMethods)
        if (!["GET", "PUT", "POST", "HEAD", "DELETE"].includes(method))
          throw new ApiError(400, "InvalidRequest", `Unsupported CORS method ${method}`);
    }
    if (rules.length === 0) throw new ApiError(400, "MalformedXML", "The CORS configuration has no rule");
    return rules;
  }
}
