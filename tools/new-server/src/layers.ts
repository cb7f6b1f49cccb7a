import type { ServerDescription } from "@infra/core";
import { Document, isMap, type Scalar } from "yaml";

/** What the existing stack files hold in place of a secret until `pulumi config set --secret` replaces it. */
export const secretPlaceholder = "v1:EXAMPLE-replace-with-pulumi-config-set-secret";

/** One setting of a stack file: a value, or a secret the user still has to set. */
export type StackSetting = { key: string; comment: string[] } & ({ value: unknown } | { secret: true });

/** A base layer every server of its kind runs, and what its stack file holds. */
export interface Layer {
  project: string;
  /** Whether a server runs it; every server when absent. */
  runsOn?: (server: ServerDescription) => boolean;
  header: (stack: string) => string[];
  settings: StackSetting[];
}

// Only what has no safe default: the projects read the server's facts from servers/<name>.json and
// servers/site.json, and everything else has a default in the project's config schema.
export const baseLayers: Layer[] = [
  {
    project: "shared",
    header: (stack) => [
      `The server's facts come from servers/${stack}.json and servers/site.json (domain, tailnet, ACME,`,
      "backup target); this file holds the stack's secrets. Backup alerts (backup:notify) and a schedule",
      "of its own (backup:schedule, backup:retention) are optional: another server's file shows them.",
    ],
    settings: [
      {
        key: "shared:cloudflareApiToken",
        comment: [
          "The operator's Cloudflare API token, used by Pulumi on your machine only (DNS records, zone",
          "settings), never given to a cluster: limited to the zone (Zone → DNS → Edit, Zone → Zone → Read;",
          "pulumi/projects/cert-manager/README.md, Cloudflare tokens).",
        ],
        secret: true,
      },
      {
        key: "shared:tailscaleOauthClientSecret",
        comment: [
          "The secret of the Tailscale OAuth client whose id is tailnet.oauthClientId in servers/site.json.",
        ],
        secret: true,
      },
    ],
  },
  {
    project: "cilium",
    header: () => [
      "Cilium reads everything it needs (API server address, pod range) from the shared project.",
    ],
    settings: [],
  },
  {
    project: "gateway-api",
    header: () => [
      "The Gateway API CRDs need no settings: the version is pinned in @infra/core versions.ts and the",
      "server's cluster comes from the shared project.",
    ],
    settings: [],
  },
  {
    project: "cert-manager",
    header: () => ["cert-manager reads the ACME account and the domain from the shared project."],
    settings: [
      {
        key: "cert-manager:cloudflareApiToken",
        comment: [
          "This cluster's own Cloudflare API token for DNS-01, never the operator's: Zone → DNS → Edit and",
          "Zone → Zone → Read on your domain only (pulumi/projects/cert-manager/README.md, Cloudflare tokens).",
        ],
        secret: true,
      },
    ],
  },
  {
    project: "internal-gateway",
    header: () => [
      "The server's subnet router and private gateway; the router's tag and key expiry have defaults.",
    ],
    settings: [
      {
        key: "internal-gateway:servedNamespaces",
        comment: [
          "The namespaces of the private apps on this server (an app's is its name): Traefik watches these",
          "only. The uptime monitor's status page is status.<server>.<domain>. List an app here when you",
          "place it on this server.",
        ],
        value: ["monitoring"],
      },
    ],
  },
  {
    project: "monitoring",
    header: () => [
      "The server's uptime monitor (Gatus), at status.<server>.<domain> in the tailnet only. It alerts",
      "the backups' target (backup:notify); monitoring:diskMinFreePercent is 10 by default.",
    ],
    settings: [],
  },
  {
    project: "public-gateway",
    runsOn: (server) => server.reachableFromInternet,
    header: () => [
      "The server's address comes from the shared project; another stack manages the zone's TLS settings",
      "(public-gateway:ownsZoneSettings there). No public app runs here yet: when you place one, list its",
      "namespace (its name) in public-gateway:servedNamespaces, the only ones Traefik watches.",
    ],
    settings: [],
  },
];

/** The base layers `server` runs. */
export function layersOf(server: ServerDescription): Layer[] {
  return baseLayers.filter((layer) => layer.runsOn?.(server) ?? true);
}

function comment(lines: string[]): string {
  return lines.map((line) => ` ${line}`).join("\n");
}

/** A layer's stack file for `stack`, with its comments. */
export function stackFileText(layer: Layer, stack: string): string {
  const document = new Document({
    config: Object.fromEntries(
      layer.settings.map((setting) => [
        setting.key,
        "secret" in setting ? { secure: secretPlaceholder } : setting.value,
      ]),
    ),
  });
  const secrets = layer.settings.filter((setting) => "secret" in setting);
  // On the `config` key rather than the document, which would put a blank line after it.
  const root = document.contents;
  if (!isMap(root)) throw new Error("unreachable: a stack file is a map");
  (root.items[0]?.key as Scalar).commentBefore = comment([
    ...layer.header(stack),
    ...(secrets.length > 0
      ? [`Secrets: replace each with \`pulumi config set --secret <key> <value> --stack ${stack}\`.`]
      : []),
  ]);
  const config = root.items[0]?.value;
  if (isMap(config)) {
    for (const pair of config.items) {
      const setting = layer.settings.find((candidate) => candidate.key === (pair.key as Scalar).value);
      if (setting) (pair.key as Scalar).commentBefore = comment(setting.comment);
    }
  }
  return document.toString({ lineWidth: 0 });
}

/** The `pulumi config set` command for a secret of a layer's stack. */
export function secretCommand(layer: Layer, key: string, stack: string): string {
  return `pulumi -C pulumi/projects/${layer.project} config set --secret ${key} <value> --stack ${stack}`;
}
