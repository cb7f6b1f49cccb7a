import { stunPort } from "@infra/tailscale";
import { stringify } from "yaml";

/** Where the pod holds each file Headscale reads or writes (the project mounts them there). */
export const headscalePaths = {
  /** The config file: Headscale's default location (`/etc/headscale/config.yaml`). */
  configDir: "/etc/headscale",
  /** Its state: the noise and DERP private keys (the backed-up volume). */
  dataDir: "/var/lib/headscale",
  /** The certificate cert-manager issues (a `kubernetes.io/tls` Secret). */
  tlsDir: "/etc/headscale-tls",
  /** The policy file (a ConfigMap). */
  policyDir: "/etc/headscale-policy",
  /** The extra DNS records (a ConfigMap mounted as a directory, never by subPath: updates reach it). */
  dnsDir: "/etc/headscale-dns",
  /** The CLI's socket: `headscale` in the pod (the operator's `kubectl exec`) talks to the server through it. */
  socketDir: "/var/run/headscale",
} as const;

export const headscaleFiles = {
  config: "config.yaml",
  policy: "policy.json",
  extraRecords: "extra-records.json",
} as const;

/** The environment variables that give Headscale its database (viper reads HEADSCALE_<KEY> for every key). */
export const databaseEnv = {
  host: "HEADSCALE_DATABASE_POSTGRES_HOST",
  port: "HEADSCALE_DATABASE_POSTGRES_PORT",
  name: "HEADSCALE_DATABASE_POSTGRES_NAME",
  user: "HEADSCALE_DATABASE_POSTGRES_USER",
  pass: "HEADSCALE_DATABASE_POSTGRES_PASS",
} as const;

export interface HeadscaleConfigArgs {
  /** The URL clients log in to: `https://<hostname>:<port>` (servers/site.json tailnet.headscale). */
  serverUrl: string;
  /** The port Headscale's HTTPS (control, API, embedded DERP) listens on. */
  port: number;
  /** The server's public address, given to clients in the embedded DERP region. */
  publicIp: string;
  /** MagicDNS's domain: the devices' names are `<device>.<baseDomain>`. */
  baseDomain: string;
  /**
   * Zones MagicDNS must not take over (Tailscale clients answer the base domain and everything
   * under it from the tailnet alone): the site's public domain and its private zone.
   */
  reservedZones: string[];
  /** The resolvers clients use for every name the tailnet does not answer. */
  nameservers: string[];
}

const within = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

/**
 * The base domain, checked as Headscale checks it (`isSafeServerURL` in hscontrol/types/config.go:
 * the server's name may be neither the base domain nor under it, or clients could not reach it)
 * and against the zones the site serves elsewhere.
 */
function checkBaseDomain(args: HeadscaleConfigArgs): void {
  const server = new URL(args.serverUrl).hostname;
  if (within(server, args.baseDomain)) {
    throw new Error(
      `Headscale: base domain ${args.baseDomain} would take over the server's own name ${server}; pick a domain it does not lie in`,
    );
  }
  for (const zone of args.reservedZones) {
    if (within(zone, args.baseDomain)) {
      throw new Error(
        `Headscale: base domain ${args.baseDomain} would take over the zone ${zone} inside the tailnet; pick a domain below it, such as tailnet.${zone}`,
      );
    }
  }
}

/**
 * Headscale's `config.yaml` (keys of config-example.yaml and hscontrol/types/config.go, 0.28):
 * - HTTPS on `port` with cert-manager's certificate: the embedded DERP server needs TLS, and the
 *   control protocol cannot pass Cloudflare's proxy.
 * - the embedded DERP server (STUN on 3478/UDP) and no DERP map from Tailscale (`urls: []`, no
 *   updates): the tailnet relays through Headscale only and needs nothing of Tailscale's service.
 *   No update check and no logtail for the same reason.
 * - PostgreSQL, its connection from the environment (`databaseEnv`), so no secret is in the file.
 * - the policy from a file (`policy.mode: file`): reviewed in git, rendered by Pulumi; a change rolls
 *   the pod (the ConfigMap is part of its template).
 * - MagicDNS under `baseDomain`, every query through Headscale's resolver (`override_local_dns`)
 *   so the private names of `extra_records_path` resolve on every device; Headscale watches that
 *   file, so a new private name needs no restart.
 * - gRPC on localhost only: the CLI in the pod uses the unix socket, remote tools the REST API.
 */
export function renderHeadscaleConfig(args: HeadscaleConfigArgs): string {
  checkBaseDomain(args);
  if (args.nameservers.length === 0) {
    throw new Error("Headscale: override_local_dns needs at least one global nameserver");
  }
  const config = {
    server_url: args.serverUrl,
    listen_addr: `0.0.0.0:${args.port}`,
    metrics_listen_addr: "127.0.0.1:9090",
    grpc_listen_addr: "127.0.0.1:50443",
    grpc_allow_insecure: false,
    noise: { private_key_path: `${headscalePaths.dataDir}/noise_private.key` },
    prefixes: { v4: "100.64.0.0/10", v6: "fd7a:115c:a1e0::/48", allocation: "sequential" },
    derp: {
      server: {
        enabled: true,
        region_id: 999,
        region_code: "headscale",
        region_name: "Headscale Embedded DERP",
        stun_listen_addr: `0.0.0.0:${stunPort}`,
        private_key_path: `${headscalePaths.dataDir}/derp_server_private.key`,
        automatically_add_embedded_derp_region: true,
        ipv4: args.publicIp,
      },
      urls: [],
      paths: [],
      auto_update_enabled: false,
    },
    disable_check_updates: true,
    database: { type: "postgres", postgres: { ssl: false } },
    tls_cert_path: `${headscalePaths.tlsDir}/tls.crt`,
    tls_key_path: `${headscalePaths.tlsDir}/tls.key`,
    log: { format: "text", level: "info" },
    policy: { mode: "file", path: `${headscalePaths.policyDir}/${headscaleFiles.policy}` },
    dns: {
      magic_dns: true,
      base_domain: args.baseDomain,
      override_local_dns: true,
      nameservers: { global: args.nameservers, split: {} },
      search_domains: [],
      extra_records_path: `${headscalePaths.dnsDir}/${headscaleFiles.extraRecords}`,
    },
    unix_socket: `${headscalePaths.socketDir}/headscale.sock`,
    unix_socket_permission: "0770",
    logtail: { enabled: false },
    randomize_client_port: false,
  };
  return stringify(config);
}
