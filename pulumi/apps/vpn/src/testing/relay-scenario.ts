/**
 * A VPN relay's upstream run for real: the given `wg0.conf`, with only its keys and endpoint replaced by
 * test ones, brought up by the real `wg-quick` in a "relay" network namespace, holding only the
 * capability the upstream container holds (NET_ADMIN).
 *
 * ```
 *  client ─ eth0 ──── <tailscaleInterface> relay eth0 ──────────── eth0 upstream
 *  198.19.1.2           198.19.1.1               198.18.0.2            198.18.0.1 (WireGuard peer, :51820)
 *                                                wg0 <conf Address> ══ wg0 <dns>/32
 *                                                                      lo 192.0.2.80 ("the internet")
 * ```
 *
 * The upstream namespace is both the provider's WireGuard server and the relay's default gateway, like the
 * pod's eth0: whatever the tunnel does not carry still reaches the same test servers (TCP :80 on every
 * address, UDP :53 standing in for DNS), and the source address they see tells which way a packet came
 * (tunnel address, or the relay's own 198.18.0.2). The scenario's own addresses are in the benchmark
 * (198.18.0.0/15) and documentation (192.0.2.0/24) ranges; they and the conf's exist only in namespaces
 * this scenario creates and always deletes.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { isIPv4 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Arrival, ProbeResult } from "./agent";
import { Agent } from "./agent-client";
import { NetworkNamespace, netnsUnavailableReason, onPath, run, waitFor } from "./netns";
import { configValues, replaceConfigValue } from "./wg-conf";

export type { Arrival, ProbeResult } from "./agent";

/** What the conf was rendered for, which the scenario checks the relay against. */
export interface RelayExpectations {
  tailscaleInterface: string;
  /** The provider DNS server the conf routes through the tunnel. */
  dns: string;
  /** The firewall mark of packets from the Tailscale interface. */
  mark: number;
}

export interface RelayObservations {
  addresses: { tunnel: string; relay: string; client: string };
  /** Client (a Tailscale peer using the exit node) to the internet address. */
  clientToInternet: ProbeResult;
  /** The relay itself to the internet address, sending `relayProbeBytes`. */
  relayToInternet: ProbeResult;
  relayProbeBytes: number;
  /** How many bytes wg0 sent while the relay's own probe ran. */
  tunnelBytesDuringRelayProbe: number;
  /** The relay itself to the DNS server, as a resolver in the pod would query it. */
  relayToDns: ProbeResult;
  /** The device `ip route get` picks in the relay, for unmarked and marked packets. */
  routes: { dns: string; dnsMarked: string; internet: string; internetMarked: string };
  stateBeforeUp: string;
  stateAfterDown: string;
  /** Client to the internet address after wg0 vanished without PreDown (a killed wireguard-go). */
  clientWhileTunnelGone: ProbeResult;
  /** What reached the test servers from then until the tunnel was back. */
  arrivalsWhileTunnelGone: Arrival[];
  /** Client to the internet address after `wg-quick up` ran again over the leftovers. */
  clientAfterRestart: ProbeResult;
  stateAfterRestartAndDown: string;
}

const net = {
  client: "198.19.1.2",
  relayTailscale: "198.19.1.1",
  relay: "198.18.0.2",
  upstream: "198.18.0.1",
  internet: "192.0.2.80",
  wireguardPort: 51820,
  tcpPort: 80,
  dnsPort: 53,
};
const relayProbeBytes = 64 * 1024;

/** Runs a command as root with only the upstream container's capability, NET_ADMIN (see relay.ts). */
const upstreamCapabilities = ["setpriv", "--bounding-set=-all,+net_admin"];

const wireguardEnv = {
  ...process.env,
  WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go",
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1",
};

/** Why this machine cannot run the scenario (skip the test), or undefined when it can. */
export function relayScenarioUnavailableReason(): string | undefined {
  return netnsUnavailableReason(
    [
      "ip",
      "mount",
      "wg",
      "wg-quick",
      "wireguard-go",
      "bash",
      "iptables",
      "iptables-save",
      "iptables-restore",
      "ip6tables-save",
      "setpriv",
    ],
    "iproute2, wireguard-tools, wireguard-go, iptables, util-linux",
  );
}

/**
 * Runs the relay scenario on `confText` (a rendered `wg0.conf`) and returns what it observed. Cleans up
 * its namespaces, processes and files whether or not it succeeds.
 */
export async function runRelayScenario(
  confText: string,
  expected: RelayExpectations,
): Promise<RelayObservations> {
  const tunnel = checkConf(confText, expected);
  const stateDir = await mkdtemp(join(tmpdir(), "vpn-relay-"));
  const namespaces: NetworkNamespace[] = [];
  const errors: unknown[] = [];
  let observations: RelayObservations | undefined;
  try {
    observations = await observe(confText, expected, tunnel, stateDir, namespaces);
  } catch (error) {
    errors.push(error);
  }
  for (const result of await Promise.allSettled(namespaces.map((namespace) => namespace.destroy()))) {
    if (result.status === "rejected") errors.push(result.reason);
  }
  await rm(stateDir, { recursive: true, force: true });
  if (errors.length > 1) throw new AggregateError(errors, "the relay scenario failed");
  if (errors.length === 1 || !observations) throw errors[0];
  return observations;
}

/** The relay's tunnel address, after checking that the scenario can run this conf. */
function checkConf(confText: string, expected: RelayExpectations): string {
  if (configValues(confText, "Interface", "DNS").length > 0) {
    throw new Error(
      "the scenario does not run a conf with DNS = (resolvconf would rewrite the host's resolver)",
    );
  }
  if (configValues(confText, "Peer", "PresharedKey").length > 0) {
    throw new Error("the scenario replaces no PresharedKey; add one to it before testing such a conf");
  }
  const tunnel = configValues(confText, "Interface", "Address")
    .flatMap((value) => value.split(","))
    .map((cidr) => cidr.trim().split("/")[0] ?? "")
    .find((address) => isIPv4(address));
  if (!tunnel) throw new Error("the conf has no IPv4 Address");
  for (const address of [tunnel, expected.dns]) {
    if (/^198\.1[89]\./.test(address) || address === net.internet) {
      throw new Error(
        `${address} collides with the scenario's own addresses (198.18.0.0/15, ${net.internet})`,
      );
    }
  }
  return tunnel;
}

async function observe(
  confText: string,
  expected: RelayExpectations,
  tunnel: string,
  stateDir: string,
  namespaces: NetworkNamespace[],
): Promise<RelayObservations> {
  const id = randomBytes(4).toString("hex");
  for (const role of ["client", "relay", "upstream"]) {
    namespaces.push(await NetworkNamespace.create(`vpn-relay-${id}-${role}`, stateDir));
  }
  const [client, relay, upstream] = namespaces as [NetworkNamespace, NetworkNamespace, NetworkNamespace];
  // Started first: Node starts up while the network is built (sockets are opened only per request).
  const [clientAgent, relayAgent, upstreamAgent] = [client, relay, upstream].map((namespace) =>
    Agent.start(namespace),
  ) as [Agent, Agent, Agent];
  await buildTopology(client, relay, upstream, expected.tailscaleInterface);

  const relayKey = await newKeyPair();
  const upstreamKey = await newKeyPair();
  const upstreamKeyFile = join(stateDir, "upstream.key");
  await writeFile(upstreamKeyFile, upstreamKey.privateKey, { mode: 0o600 });
  await upstream.exec(["wireguard-go", "wg0"], { env: wireguardEnv });
  await upstream.exec([
    ...["wg", "set", "wg0", "private-key", upstreamKeyFile, "listen-port", String(net.wireguardPort)],
    ...["peer", relayKey.publicKey, "allowed-ips", `${tunnel}/32`],
  ]);
  await upstream.exec(["ip", "address", "add", `${expected.dns}/32`, "dev", "wg0"]);
  await upstream.exec(["ip", "link", "set", "wg0", "up"]);
  await upstream.exec(["ip", "route", "add", `${tunnel}/32`, "dev", "wg0"]);
  await upstreamAgent.listen(net.tcpPort, net.dnsPort);
  const arrivals = upstreamAgent.arrivals;

  let conf = replaceConfigValue(confText, "Interface", "PrivateKey", relayKey.privateKey);
  conf = replaceConfigValue(conf, "Peer", "PublicKey", upstreamKey.publicKey);
  conf = replaceConfigValue(conf, "Peer", "Endpoint", `${net.upstream}:${net.wireguardPort}`);
  // wg-quick names the interface after the file and warns about a world-readable one.
  const confPath = join(stateDir, "wg0.conf");
  await writeFile(confPath, conf, { mode: 0o600 });
  // With the one capability the upstream container holds: root whose bounding set is NET_ADMIN alone,
  // for wg-quick, its hooks and the wireguard-go it starts.
  const wgQuick = (action: "up" | "down") =>
    relay.exec([...upstreamCapabilities, "wg-quick", action, confPath], { env: wireguardEnv });

  const stateBeforeUp = await networkState(relay);
  await wgQuick("up");
  const clientToInternet = await clientAgent.probe("tcp", net.internet, net.tcpPort);
  const tunnelBytesBefore = await tunnelBytesSent(relay);
  const relayToInternet = await relayAgent.probe("tcp", net.internet, net.tcpPort, relayProbeBytes);
  const tunnelBytesDuringRelayProbe = (await tunnelBytesSent(relay)) - tunnelBytesBefore;
  const relayToDns = await relayAgent.probe("udp", expected.dns, net.dnsPort);
  const routes = {
    dns: await routeDevice(relay, expected.dns),
    dnsMarked: await routeDevice(relay, expected.dns, expected.mark),
    internet: await routeDevice(relay, net.internet),
    internetMarked: await routeDevice(relay, net.internet, expected.mark),
  };
  await wgQuick("down");
  const stateAfterDown = await networkState(relay);

  await wgQuick("up");
  // Killing the container takes wireguard-go and with it wg0, but not what PostUp added. Deleting wg0
  // leaves the same (and ends wireguard-go); with kernel WireGuard it is the only way wg0 goes.
  await relay.exec(["ip", "link", "del", "wg0"]);
  await waitFor("the relay's wireguard-go to exit", async () =>
    (await processNames(relay)).includes("wireguard-go") ? undefined : true,
  );
  const seenBefore = arrivals.length;
  const clientWhileTunnelGone = await clientAgent.probe("tcp", net.internet, net.tcpPort);
  const restartFailure = await wgQuick("up").then(
    () => undefined,
    (error: Error) => ({ error: `wg-quick up over the leftovers failed: ${error.message}` }),
  );
  const clientAfterRestart = restartFailure ?? (await clientAgent.probe("tcp", net.internet, net.tcpPort));
  let arrivalsWhileTunnelGone = arrivals.slice(seenBefore);
  if ("seenSource" in clientAfterRestart) {
    // The server reports in order of arrival: once the restarted probe is reported, so is all before it.
    const source = clientAfterRestart.seenSource;
    const restartedAt = await waitFor("the server to report the restarted probe", () => {
      const index = arrivals.findIndex((arrival, i) => i >= seenBefore && arrival.from === source);
      return index >= 0 ? index : undefined;
    });
    arrivalsWhileTunnelGone = arrivals.slice(seenBefore, restartedAt);
  }
  if (!restartFailure) await wgQuick("down");
  const stateAfterRestartAndDown = await networkState(relay);

  return {
    addresses: { tunnel, relay: net.relay, client: net.client },
    clientToInternet,
    relayToInternet,
    relayProbeBytes,
    tunnelBytesDuringRelayProbe,
    relayToDns,
    routes,
    stateBeforeUp,
    stateAfterDown,
    clientWhileTunnelGone,
    arrivalsWhileTunnelGone,
    clientAfterRestart,
    stateAfterRestartAndDown,
  };
}

async function buildTopology(
  client: NetworkNamespace,
  relay: NetworkNamespace,
  upstream: NetworkNamespace,
  tailscaleInterface: string,
): Promise<void> {
  for (const namespace of [client, relay, upstream]) {
    // The relay is IPv4-only. Without IPv6 no link-local address is still "tentative" (in duplicate
    // address detection) when the first snapshot is taken and settled by the next.
    await namespace.sysctl("net/ipv6/conf/all/disable_ipv6", 1);
    await namespace.sysctl("net/ipv6/conf/default/disable_ipv6", 1);
  }
  // A relay forwards; loose reverse-path filtering, as Tailscale exit nodes need, set here rather than
  // inherited from whatever the host has.
  await relay.sysctl("net/ipv4/ip_forward", 1);
  await relay.sysctl("net/ipv4/conf/all/rp_filter", 2);
  await relay.sysctl("net/ipv4/conf/default/rp_filter", 2);

  // Names and addresses here contain no spaces.
  const ip = (namespace: NetworkNamespace, args: string) => namespace.exec(["ip", ...args.split(" ")]);
  await ip(relay, `link add ${tailscaleInterface} type veth peer name eth0 netns ${client.name}`);
  await ip(relay, `link add eth0 type veth peer name eth0 netns ${upstream.name}`);
  await ip(relay, `address add ${net.relayTailscale}/24 dev ${tailscaleInterface}`);
  await ip(relay, `link set ${tailscaleInterface} up`);
  await ip(relay, `address add ${net.relay}/24 dev eth0`);
  await ip(relay, "link set eth0 up");
  await ip(relay, `route add default via ${net.upstream}`);
  await ip(client, `address add ${net.client}/24 dev eth0`);
  await ip(client, "link set eth0 up");
  await ip(client, `route add default via ${net.relayTailscale}`);
  await ip(upstream, `address add ${net.upstream}/24 dev eth0`);
  await ip(upstream, "link set eth0 up");
  await ip(upstream, `address add ${net.internet}/32 dev lo`);
  // Lets a client packet that leaked past the tunnel complete its connection, so a leak is seen, not lost.
  await ip(upstream, `route add ${net.client}/32 via ${net.relay}`);

  // In the pod, Tailscale has set up its firewall before the upstream starts. iptables-nft creates tables
  // and chains on first use and keeps them once empty, so in a namespace without any a first-ever rule
  // would leave an empty chain behind that no rule deletion removes.
  const chains = {
    filter: ["INPUT", "FORWARD", "OUTPUT"],
    nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
    mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    raw: ["PREROUTING", "OUTPUT"],
  };
  const restore = Object.entries(chains).flatMap(([table, names]) => [
    `*${table}`,
    ...names.map((name) => `:${name} ACCEPT [0:0]`),
    "COMMIT",
  ]);
  await relay.exec(["iptables-restore", "--noflush"], { input: `${restore.join("\n")}\n` });
}

async function newKeyPair(): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = (await run(["wg", "genkey"])).trim();
  const publicKey = (await run(["wg", "pubkey"], { input: `${privateKey}\n` })).trim();
  return { privateKey, publicKey };
}

async function routeDevice(namespace: NetworkNamespace, destination: string, mark?: number): Promise<string> {
  const markArgs = mark === undefined ? [] : ["mark", String(mark)];
  const route = await namespace.exec(["ip", "-4", "route", "get", destination, ...markArgs]);
  return /\bdev (\S+)/.exec(route)?.[1] ?? route.trim();
}

async function tunnelBytesSent(relay: NetworkNamespace): Promise<number> {
  const transfer = await relay.exec(["wg", "show", "wg0", "transfer"]);
  return transfer
    .split("\n")
    .filter(Boolean)
    .reduce((sum, line) => sum + Number(line.split("\t")[2]), 0);
}

async function processNames(namespace: NetworkNamespace): Promise<string[]> {
  const names = await Promise.all(
    // A process may end between listing and reading.
    (await namespace.pids()).map((pid) => readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")),
  );
  return names.map((name) => name.trim());
}

/**
 * Everything in the namespace that wg-quick and its hooks could change, with counters and timestamps
 * removed so that equal states compare equal.
 */
async function networkState(namespace: NetworkNamespace): Promise<string> {
  const sections: [string, string[]][] = [
    ["ip -4 rule", ["ip", "-4", "rule", "show"]],
    ["ip -6 rule", ["ip", "-6", "rule", "show"]],
    ["ip -4 route", ["ip", "-4", "route", "show", "table", "all"]],
    ["ip -6 route", ["ip", "-6", "route", "show", "table", "all"]],
    ["links", ["ip", "-o", "link", "show"]],
    ["addresses", ["ip", "-o", "address", "show"]],
    ["iptables", ["iptables-save"]],
    ["ip6tables", ["ip6tables-save"]],
    [
      "sysctl",
      [
        "sh",
        "-c",
        "cd /proc/sys/net/ipv4 && grep -H . ip_forward conf/all/src_valid_mark conf/all/rp_filter",
      ],
    ],
  ];
  if (onPath("nft")) sections.push(["nft", ["nft", "list", "ruleset"]]);
  const parts: string[] = [];
  for (const [title, argv] of sections) {
    const out = await namespace.exec(argv);
    const normalized = out
      .split("\n")
      .filter((line) => !line.startsWith("# "))
      .join("\n")
      .replace(/ \[\d+:\d+\]/g, "")
      .replace(/counter packets \d+ bytes \d+/g, "counter");
    parts.push(`## ${title}\n${normalized}`);
  }
  return parts.join("\n");
}
