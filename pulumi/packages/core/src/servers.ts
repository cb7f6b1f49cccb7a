import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "./config";
import { describeUnknownKey, unknownKeys } from "./config-keys";
import { repositoryRoot } from "./placement";
import { cidrsOverlap, dnsLabel, domainName, email, externalHost, ipv4, ipv4Cidr, port } from "./validators";

/**
 * The repository's description of its servers: `servers/site.json` (what every server shares) and
 * one `servers/<name>.json` per server. NixOS (`builtins.fromJSON`), Terraform (`jsondecode`),
 * Pulumi's `shared` project and the tools all read these files, so no fact is typed twice.
 */
export const serversDir = "servers";

/** Tailscale's own ranges: addresses of the tailnet's devices (CGNAT) and its IPv4 service addresses. */
export const tailnetRanges = ["100.64.0.0/10"] as const;

export const tailnetName = z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*\.ts\.net$/, {
  error: "expected the tailnet's DNS name, such as example-tailnet.ts.net (admin console → DNS)",
});

const schemaReference = z.string().optional().describe("The JSON schema editors check this file with.");

export const siteSchema = z.strictObject({
  $schema: schemaReference,
  domain: domainName.describe("The domain every app's hostname is under (its zone is at Cloudflare)."),
  privateDomain: domainName
    .optional()
    .describe(
      "The zone of the private apps' names, served only inside the tailnet (never at Cloudflare): a subdomain of domain, internal.<domain> by default.",
    ),
  acmeEmail: email.describe(
    "The ACME account's e-mail: Let's Encrypt writes to it about expiring certificates.",
  ),
  acmeServer: z
    .url()
    .default("https://acme-v02.api.letsencrypt.org/directory")
    .describe("The ACME directory; Let's Encrypt's production directory by default."),
  cloudflareZoneId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, { error: "expected the 32-character hex zone id of the domain" })
    .describe("The Cloudflare zone id of the domain (dashboard → the domain → Overview → API)."),
  tailnet: z
    .strictObject({
      name: tailnetName.describe(
        "The tailnet's DNS name (admin console → DNS), such as example-tailnet.ts.net.",
      ),
      oauthClientId: z
        .string()
        .min(1)
        .describe("The Tailscale OAuth client's id (scopes: auth_keys, policy_file, devices)."),
      policyOwner: dnsLabel.describe(
        "The server whose stack owns the tailnet's policy file: one document for the whole tailnet, listing every server's routes.",
      ),
      headscale: z
        .strictObject({
          server: dnsLabel.describe("The server that runs Headscale (its headscale project)."),
          hostname: domainName
            .optional()
            .describe(
              "Headscale's public name (a DNS-only record, never proxied): headscale.<domain> by default.",
            ),
          port: port
            .default(8443)
            .describe("The TCP port Headscale's HTTPS listens on, on the server's public address."),
        })
        .optional()
        .describe(
          "Use a self-hosted Headscale as the tailnet's control server instead of Tailscale's service: every client logs in to it, and nothing is managed at Tailscale.",
        ),
    })
    .describe("The tailnet every server joins."),
  admin: z
    .strictObject({
      user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, { error: "expected a Unix user name such as admin" }),
      sshKeys: z
        .array(z.string().regex(/^(ssh|ecdsa|sk)-\S+ \S+/, { error: "expected an SSH public key" }))
        .min(1),
      sshPort: port,
    })
    .describe("The operator's account on every server, reached over the tailnet."),
  timeZone: z.string().min(1).describe("The servers' time zone, such as UTC or Europe/Berlin."),
  backup: z
    .strictObject({
      remote: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+:\S*$/, {
          error: "expected an rclone remote and path such as storage:homelab-backups",
        })
        .describe("Where every repository lives: rclone:<remote>/<app>, the same on every server."),
      storageHosts: z
        .array(externalHost)
        .min(1)
        .describe("What the backup jobs may reach: DNS names, *.patterns, IPv4 addresses or CIDRs."),
    })
    .describe("The backup target every server's jobs use; a stack may override it with backup:* config."),
});
export type Site = z.output<typeof siteSchema>;

/** The zone of the private apps' names: servers/site.json's privateDomain, `internal.<domain>` by default. */
export function privateDomainOf(site: Site): string {
  return site.privateDomain ?? `internal.${site.domain}`;
}

/** How the tailnet is controlled: Tailscale's service, or a self-hosted Headscale. */
export type TailnetControl =
  | { kind: "tailscale" }
  | {
      kind: "headscale";
      /** The server that runs it. */
      server: string;
      /** Its public name (a DNS-only record). */
      hostname: string;
      /** Its HTTPS port on the server's public address. */
      port: number;
      /** What every client logs in to: `https://<hostname>:<port>`. */
      url: string;
    };

/** servers/site.json's tailnet control server, its defaults filled in. */
export function tailnetControlOf(site: Site): TailnetControl {
  const headscale = site.tailnet.headscale;
  if (!headscale) return { kind: "tailscale" };
  const hostname = headscale.hostname ?? `headscale.${site.domain}`;
  return {
    kind: "headscale",
    server: headscale.server,
    hostname,
    port: headscale.port,
    url: `https://${hostname}:${headscale.port}`,
  };
}

const hcloud = z.strictObject({
  kind: z.literal("hcloud"),
  serverType: z.string().min(1).describe("Hetzner server type (`hcloud server-type list`), such as cx33."),
  location: z.string().min(1).describe("Hetzner location, such as fsn1, nbg1, hel1."),
});
const digitalocean = z.strictObject({
  kind: z.literal("digitalocean"),
  size: z.string().min(1).describe("Droplet size slug (`doctl compute size list`), such as s-4vcpu-8gb."),
  region: z.string().min(1).describe("Region slug, such as fra1, ams3."),
});
const proxmox = z.strictObject({
  kind: z.literal("proxmox"),
  endpoint: z.url().describe("The Proxmox VE API, such as https://pve.lan:8006/."),
  insecure: z.boolean().describe("Accept the API's self-signed certificate."),
  node: z.string().min(1).describe("The Proxmox node the VM runs on."),
  datastore: z.string().min(1).describe("The datastore of the VM's disk, such as local-lvm."),
  bridge: z.string().min(1).describe("The VM's network bridge, such as vmbr0."),
  macAddress: z
    .string()
    .regex(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/, {
      error: "expected an upper-case MAC address such as BC:24:11:00:00:01",
    })
    .describe("The VM's fixed MAC address; reserve ipAddress for it in your DHCP server."),
  ipAddress: ipv4.describe("The IPv4 address reserved for the VM."),
});
const existing = z.strictObject({
  kind: z.literal("existing"),
  internalIp: ipv4.describe("The server's address on its own network."),
  publicIp: ipv4.describe("The server's public address (its router's, for a server at home)."),
  sshHost: z.string().min(1).describe("Where SSH reaches it for the install."),
  sshPort: port,
  sshUser: z.string().min(1),
});

export const providerKinds = ["hcloud", "digitalocean", "proxmox", "existing"] as const;
export type ProviderKind = (typeof providerKinds)[number];

export const serverSchema = z
  .strictObject({
    $schema: schemaReference,
    role: z
      .enum(["cloud", "home"])
      .describe(
        "cloud: a rented server with a public address; home: a server at home, reached over the tailnet.",
      ),
    provider: z
      .discriminatedUnion("kind", [hcloud, digitalocean, proxmox, existing])
      .describe("Where the machine comes from: a provider Terraform creates it at, or an existing machine."),
    reachableFromInternet: z
      .boolean()
      .describe("Whether its public address serves the public gateway (80/443, from Cloudflare only)."),
    network: z
      .strictObject({
        clusterCidr: ipv4Cidr.describe("Pod addresses; disjoint from every other server's ranges."),
        serviceCidr: ipv4Cidr.describe(
          "Service addresses (a /24 or larger); disjoint from every other server's.",
        ),
      })
      .refine(
        (network) =>
          !ipv4Cidr.safeParse(network.clusterCidr).success ||
          !ipv4Cidr.safeParse(network.serviceCidr).success ||
          !cidrsOverlap(network.clusterCidr, network.serviceCidr),
        { error: "clusterCidr and serviceCidr overlap" },
      ),
    kubeContext: z.string().min(1).optional().describe("The server's kube context; its name by default."),
  })
  .describe("One server: a single-node k3s cluster and the stacks named after it.");
export type ServerDescription = z.output<typeof serverSchema>;

/** A server as the tools see it: its description and its name (the file's). */
export interface Server extends ServerDescription {
  name: string;
}

/** What the files say: the site, every server, and every problem found in them. */
export interface Servers {
  site?: Site;
  servers: Server[];
  /** The name of every description file, including those with problems (left out of `servers`). */
  described: string[];
  problems: string[];
  /**
   * The problems that concern server `name`'s stacks: the site's, its own description's, and the
   * ranges it shares with another server (all of them for the tailnet policy's owner, whose policy
   * lists every server).
   */
  problemsFor(name: string): string[];
}

/** A problem, and the servers it concerns (every server when none are named). */
interface ServerProblem {
  text: string;
  servers?: string[];
}

function describeIssues(file: string, schema: z.ZodType, error: z.ZodError, value: unknown): string[] {
  return [
    ...unknownKeys(schema, value).map((unknown) => describeUnknownKey(`${file}: `, unknown)),
    ...error.issues
      .filter((issue) => issue.code !== "unrecognized_keys")
      .map((issue) => `${file}: ${issue.path.map(String).join(".") || "(the file)"}: ${issue.message}`),
  ];
}

function readJsonFile(path: string, problems: string[]): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    problems.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function parseFile<S extends z.ZodType>(
  path: string,
  schema: S,
  problems: string[],
): z.output<S> | undefined {
  const value = readJsonFile(path, problems);
  if (value === undefined) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  problems.push(...describeIssues(path, schema, result.error, value));
  return undefined;
}

/** A pod or service range of a server. */
export interface ServerRange {
  server: string;
  field: keyof ServerDescription["network"];
  cidr: string;
}

/**
 * Every server's pod and service ranges: what another server's, and Tailscale's `tailnetRanges`,
 * must not overlap.
 */
export function serverRanges(servers: readonly Server[]): ServerRange[] {
  return servers.flatMap((server) =>
    (["clusterCidr", "serviceCidr"] as const).map((field) => ({
      server: server.name,
      field,
      cidr: server.network[field],
    })),
  );
}

/** Problems that involve several servers: overlapping ranges, a policy owner that is no server. */
export function crossServerProblems(site: Site | undefined, servers: Server[]): string[] {
  return crossProblems(
    site,
    servers,
    servers.map((server) => server.name),
  ).map((problem) => problem.text);
}

/** `described`: every server a file describes, valid or not (an invalid one is reported on its own). */
function crossProblems(site: Site | undefined, servers: Server[], described: string[]): ServerProblem[] {
  const problems: ServerProblem[] = [];
  const ranges = serverRanges(servers);
  for (const [index, range] of ranges.entries()) {
    for (const other of ranges.slice(index + 1)) {
      if (range.server === other.server) continue;
      if (cidrsOverlap(range.cidr, other.cidr)) {
        problems.push({
          text:
            `servers/${range.server}.json: network.${range.field} ${range.cidr} overlaps ` +
            `${other.server}'s ${other.field} ${other.cidr}: every server needs ranges of its own to share the tailnet`,
          servers: [range.server, other.server],
        });
      }
    }
    for (const tailnet of tailnetRanges) {
      if (cidrsOverlap(range.cidr, tailnet)) {
        problems.push({
          text:
            `servers/${range.server}.json: network.${range.field} ${range.cidr} overlaps the tailnet's ` +
            `addresses ${tailnet}: pick a range Tailscale does not use`,
          servers: [range.server],
        });
      }
    }
  }
  const headscale = site?.tailnet.headscale;
  if (headscale && !described.includes(headscale.server)) {
    problems.push({
      text:
        `servers/site.json: tailnet.headscale.server "${headscale.server}" is no server (servers/<name>.json); ` +
        `one of: ${described.join(", ")}`,
    });
  }
  if (site?.privateDomain !== undefined && !site.privateDomain.endsWith(`.${site.domain}`)) {
    problems.push({
      text:
        `servers/site.json: privateDomain ${site.privateDomain} is not a subdomain of domain ${site.domain}: ` +
        `its certificates are issued by DNS-01 challenges in the domain's zone; use a name such as internal.${site.domain}`,
    });
  }
  if (site && !described.includes(site.tailnet.policyOwner)) {
    problems.push({
      text:
        `servers/site.json: tailnet.policyOwner "${site.tailnet.policyOwner}" is no server (servers/<name>.json); ` +
        `one of: ${described.join(", ")}`,
    });
  }
  return problems;
}

/** The first `servers/` directory with a site.json above `start`, if there is one. */
export function serversDirAbove(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, serversDir, "site.json"))) return join(dir, serversDir);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The `servers/` directory of the repository a program runs in: the first one above `start` (a
 * Pulumi program's directory, pulumi/projects/<project>), else the repository's.
 */
export function findServersDir(start = process.cwd()): string {
  return serversDirAbove(start) ?? join(repositoryRoot, serversDir);
}

/** Reads `servers/` (or `dir`): the site, every server, and what is wrong with them. */
export function readServers(dir = findServersDir()): Servers {
  const problems: ServerProblem[] = [];
  // The problems of one file concern the server it describes (the site's: every server).
  const parseInto = <S extends z.ZodType>(path: string, schema: S, server?: string) => {
    const found: string[] = [];
    const value = parseFile(path, schema, found);
    problems.push(...found.map((text) => ({ text, ...(server ? { servers: [server] } : {}) })));
    return value;
  };
  const sitePath = join(dir, "site.json");
  const site = existsSync(sitePath) ? parseInto(sitePath, siteSchema) : undefined;
  if (!existsSync(sitePath))
    problems.push({ text: `${sitePath} is missing: the site's description (docs/your-own-homelab.md)` });
  const servers: Server[] = [];
  const files = existsSync(dir)
    ? readdirSync(dir).filter(
        (file) => file.endsWith(".json") && file !== "site.json" && !file.endsWith(".schema.json"),
      )
    : [];
  for (const file of files.sort()) {
    const name = basename(file, ".json");
    if (!dnsLabel.safeParse(name).success) {
      problems.push({
        text: `${join(dir, file)}: a server's name (its file's) must be a DNS label such as cloud-a`,
        servers: [name],
      });
      continue;
    }
    const server = parseInto(join(dir, file), serverSchema, name);
    if (server) servers.push({ ...server, name });
  }
  const described = files.map((file) => basename(file, ".json"));
  problems.push(...crossProblems(site, servers, described));
  const owner = site?.tailnet.policyOwner;
  return {
    ...(site ? { site } : {}),
    servers,
    described,
    problems: problems.map((problem) => problem.text),
    problemsFor: (name) =>
      problems
        .filter((problem) => name === owner || !problem.servers || problem.servers.includes(name))
        .map((problem) => problem.text),
  };
}

/**
 * The site and one server, for a program of that server's stack: a problem that concerns the
 * server fails it (`Servers.problemsFor`), as does a stack that no description names.
 */
export function requireServer(
  name: string,
  dir = findServersDir(),
): { site: Site; server: Server; servers: Server[] } {
  const read = readServers(dir);
  const server = read.servers.find((candidate) => candidate.name === name);
  const problems = read.problemsFor(name);
  // A description that exists but is broken has its own problems; without any, there is none.
  if (!server && problems.length === 0) {
    problems.push(
      `${join(dir, `${name}.json`)} is missing: stack "${name}" is named after a server it describes (./run new-server ${name})`,
    );
  }
  if (problems.length > 0 || !read.site || !server) {
    throw new ConfigError(
      `The server descriptions are wrong:\n${problems.map((problem) => `  ${problem}`).join("\n")}`,
    );
  }
  return { site: read.site, server, servers: read.servers };
}

/**
 * The JSON schemas of the descriptions, by file name in servers/: editors check and complete the
 * files with them (`"$schema": "./server.schema.json"`). Generated from the zod schemas above.
 */
export function serverJsonSchemas(): Record<string, string> {
  const render = (schema: z.ZodType) =>
    `${JSON.stringify(z.toJSONSchema(schema, { io: "input" }), null, 2)}\n`;
  return { "server.schema.json": render(serverSchema), "site.schema.json": render(siteSchema) };
}
