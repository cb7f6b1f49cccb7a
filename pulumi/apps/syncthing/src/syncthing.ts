import { readFileSync } from "node:fs";
import { join } from "node:path";
import { images } from "@infra/core";
import { type ContainerArgs, createConfigMap, type ServicePortArgs } from "@infra/k8s";
import { type AppEgress, createApp, resolveHostname } from "@projects/common";
import type * as pulumi from "@pulumi/pulumi";
import type { SyncthingSettings } from "./config";
import { secrets } from "./secrets";

/** The GUI and REST API; `/rest/noauth/health` answers without credentials. */
const guiPort = 8384;
/** The sync protocol: TCP, and QUIC over UDP, on the same port. */
const syncPort = 22000;
/** The image's user; its entrypoint runs Syncthing directly when the pod starts as it. */
const user = 1000;
/** The volume: Syncthing's home, with `config/` (its STHOMEDIR) and the synced folders. */
const home = "/var/syncthing";
const configDir = `${home}/config`;
/**
 * Syncthing's index database (SQLite since 2.0), under its home: rebuilt from the folders and
 * the other devices when missing, and inconsistent as a copy of the live files.
 */
const indexDatabase = "config/index-v2";

const configureScript = readFileSync(join(__dirname, "..", "scripts", "configure.sh"), "utf8");

/** Syncthing's global discovery servers (its defaults): one for lookups, one for IPv4 announcements. */
const discoveryServers = ["discovery-lookup.syncthing.net", "discovery-announce-v4.syncthing.net"];
/** The relay pool, which lists the relays; the relays themselves are any address, on 22067. */
const relayPool = "relays.syncthing.net";
const relayPort = 22067;

/** The ports the tailnet reaches on the fixed address; the main container listens on both. */
const syncPorts: ServicePortArgs[] = [
  { name: "sync-tcp", port: syncPort, protocol: "TCP" },
  { name: "sync-quic", port: syncPort, protocol: "UDP" },
];

/**
 * The options the platform decides, applied on every start (`scripts/configure.sh`). Everything
 * that calls out is off unless configured: local discovery (a pod sees no LAN), NAT traversal
 * (UPnP/NAT-PMP find no router from a pod, and STUN stops with it), usage and crash reports,
 * upgrades (the image is pinned); and the pod's own addresses are never announced.
 */
function syncthingOptions(settings: SyncthingSettings): Record<string, boolean | number> {
  return {
    globalAnnounceEnabled: settings.globalDiscovery,
    relaysEnabled: settings.relays,
    localAnnounceEnabled: false,
    announceLANAddresses: false,
    natEnabled: false,
    urAccepted: -1,
    crashReportingEnabled: false,
    autoUpgradeIntervalH: 0,
    startBrowser: false,
  };
}

/** What Syncthing reaches outside the cluster: nothing unless discovery or relays are on. */
function syncthingEgress(settings: SyncthingSettings): AppEgress[] {
  return [
    ...(settings.globalDiscovery ? [{ hosts: discoveryServers, ports: [{ port: 443 }] }] : []),
    ...(settings.relays
      ? [
          { hosts: [relayPool], ports: [{ port: 443 }] },
          // The pool hands out relays by address: any address may be one.
          { hosts: ["0.0.0.0/0"], ports: [{ port: relayPort }] },
        ]
      : []),
  ];
}

/**
 * Syncthing, private to the tailnet: its GUI at `syncthing.<domain>` through the internal gateway,
 * behind a generated user and password; the sync protocol (22000 TCP and UDP) on the app's fixed
 * cluster IP at `sync.<domain>`, which tailnet devices dial through the subnet router (no HTTP
 * gateway carries it); `/var/syncthing` backed up but its index database; discovery, relays,
 * NAT traversal, reports and upgrades off unless configured.
 */
export function createSyncthing(settings: SyncthingSettings) {
  const app = createApp({ name: "syncthing", user: { user, group: user } });
  const data = app.volume({
    name: "data",
    storage: settings.storage,
    backup: { exclude: [indexDatabase] },
  });
  const stable = app.stableSecrets(secrets);
  const script = createConfigMap({
    name: "syncthing-configure",
    namespace: app.namespace,
    data: { "configure.sh": configureScript },
  });
  const hostname = resolveHostname({
    label: "syncthing",
    scope: "site",
    gateway: "private",
    configured: settings.hostname,
  });
  const syncHostname = resolveHostname({
    label: "sync",
    scope: "site",
    gateway: "private",
    configured: settings.syncHostname,
    configKey: "syncHostname",
  });

  const homeMount = { volume: data, mountPath: home };
  const locations = { HOME: home, STHOMEDIR: configDir };
  const dropAll = { capabilities: { drop: ["ALL"] } };
  const configure: ContainerArgs = {
    name: "configure",
    image: images.syncthing,
    command: ["/bin/sh", "/scripts/configure.sh"],
    env: {
      ...locations,
      GUI_USER: stable.ref("guiUser"),
      GUI_PASSWORD: stable.ref("guiPassword"),
      SYNCTHING_OPTIONS: JSON.stringify(syncthingOptions(settings)),
    },
    volumeMounts: [homeMount, { volume: script, mountPath: "/scripts" }],
    securityContext: dropAll,
    // It runs once before Syncthing starts; slower is harmless.
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi", cpu: "200m" } },
  };
  const health = { httpGet: { path: "/rest/noauth/health", port: guiPort } };
  const server = app.service({
    port: guiPort,
    initContainers: [configure],
    container: {
      image: images.syncthing,
      env: {
        ...locations,
        // Every address, so the internal gateway's Traefik reaches it; plain HTTP whatever the
        // GUI's own TLS setting says, since Traefik terminates TLS. Syncthing checks the Host
        // header only while it listens on the loopback, so its hostname needs no override.
        STGUIADDRESS: `http://0.0.0.0:${guiPort}`,
        STNOUPGRADE: "true",
      },
      ports: syncPorts.map((port) => ({
        name: port.name,
        port: port.port,
        protocol: port.protocol ?? "TCP",
      })),
      volumeMounts: [homeMount],
      readinessProbe: { ...health, periodSeconds: 10 },
      livenessProbe: { ...health, periodSeconds: 30, failureThreshold: 5 },
      // Opening a large index database delays the first answer.
      startupProbe: { ...health, periodSeconds: 5, failureThreshold: 120 },
      securityContext: dropAll,
      // Its index and scans grow with the synced folders.
      resources: { requests: { cpu: "20m", memory: "128Mi" }, limits: { memory: "1Gi" } },
    },
    exposures: [{ gateway: "private", hostname }],
    tailnetPorts: { address: "syncthing", hostname: syncHostname, ports: syncPorts },
    egress: syncthingEgress(settings),
  });

  return {
    /** The GUI, for the tailnet. */
    url: server.urls[0] as pulumi.Output<string>,
    /** What a device enters as this device's addresses. */
    syncAddresses: syncHostname.apply((name) => [`tcp://${name}:${syncPort}`, `quic://${name}:${syncPort}`]),
    guiUser: stable.values.guiUser,
    guiPassword: stable.values.guiPassword,
    backups: app.backups(),
  };
}
