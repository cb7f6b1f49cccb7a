/**
 * The host firewall that nixos/modules/firewall-rules.nix renders for a server, loaded into real
 * iptables in a network namespace that stands for the server, with one namespace per kind of peer:
 * the tailnet (on `tailscale0`), a pod (on a veth named like Cilium's `lxc<id>`), a pod whose packets
 * Cilium redirects to `cilium_host`, and the internet (on `eth0`), both from an ordinary address and
 * from one of Cloudflare's. Every peer tries every port the server listens on. Needs root, iproute2,
 * iptables, socat and nix-instantiate; skipped with the reason where the machine lacks them.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { before, describe, it } from "node:test";
import { netnsUnavailableReason, run, waitFor } from "../../../pulumi/apps/vpn/src/testing/netns";
import { type FlakeServer, flakeServers } from "./nix";
import { cloudflareRanges, type HostFirewall, hostFirewall } from "./perimeter";
import { skipUnless } from "./repo";
import { describedServers } from "./servers";

const unavailable =
  netnsUnavailableReason(["ip", "iptables", "ip6tables", "socat"], "iproute2, iptables, socat") ??
  skipUnless("nix-instantiate", "nix-bin");
const sshPort = describedServers().site?.admin.sshPort ?? 0;

/** Every port the test server listens on: what the firewall opens somewhere, and what it must not. */
const LISTENING = [sshPort, 22, 6443, 10250, 4244, 80, 443, 8080];

/** The peers, each in its own namespace, and their addresses; pods take theirs from the server's pod network. */
function peersOf(clusterCidr: string) {
  const pods = clusterCidr.split(".").slice(0, 2).join(".");
  return {
    tailnet: { link: "tailscale0", host: "100.64.0.1", peer: "100.64.0.2", prefix: 24 },
    pod: { link: "lxc12ab", host: `${pods}.1.1`, peer: `${pods}.1.10`, prefix: 24 },
    ciliumHostPod: { link: "cilium_host", host: `${pods}.2.1`, peer: `${pods}.2.10`, prefix: 24 },
    internet: { link: "eth0", host: "203.0.113.1", peer: "203.0.113.2", prefix: 24 },
    /** A pod address that arrives on the public interface: what spoofing would look like. */
    spoofedPod: `${pods}.1.99`,
  };
}
/** Addresses in the first of Cloudflare's pinned ranges, on the internet link too. */
const CLOUDFLARE_PEER = (() => {
  const [network = "", prefix = ""] = cloudflareRanges().ipv4Cidrs[0]?.split("/") ?? [];
  const base = network.split(".").slice(0, 3).join(".");
  return { host: `${base}.1`, peer: `${base}.2`, prefix: Number(prefix) };
})();

/**
 * The chains NixOS's firewall-start builds around the options (nixpkgs
 * nixos/modules/services/networking/firewall-iptables.nix): loopback and established traffic, then
 * allowedTCPPorts, interfaces.<name>.allowedTCPPorts, allowedUDPPorts, then extraCommands, then
 * refuse. The refusal resets TCP here instead of dropping it, so a closed port answers at once.
 */
function firewallScript(firewall: HostFirewall): string {
  const both = (rule: string) => `iptables -w ${rule}\nip6tables -w ${rule}\n`;
  return [
    "set -eu",
    both("-N nixos-fw-accept"),
    both("-A nixos-fw-accept -j ACCEPT"),
    both("-N nixos-fw-refuse"),
    both("-A nixos-fw-refuse -p tcp -j REJECT --reject-with tcp-reset"),
    both("-A nixos-fw-refuse -j DROP"),
    both("-N nixos-fw"),
    both("-A nixos-fw -i lo -j nixos-fw-accept"),
    both("-A nixos-fw -m conntrack --ctstate ESTABLISHED,RELATED -j nixos-fw-accept"),
    ...firewall.allowedTCPPorts.map((port) => both(`-A nixos-fw -p tcp --dport ${port} -j nixos-fw-accept`)),
    ...Object.entries(firewall.interfaces).flatMap(([name, { allowedTCPPorts }]) =>
      allowedTCPPorts.map((port) => both(`-A nixos-fw -p tcp --dport ${port} -j nixos-fw-accept -i ${name}`)),
    ),
    ...firewall.allowedUDPPorts.map((port) => both(`-A nixos-fw -p udp --dport ${port} -j nixos-fw-accept`)),
    firewall.extraCommands,
    both("-A nixos-fw -j nixos-fw-refuse"),
    both("-A INPUT -j nixos-fw"),
  ].join("\n");
}

/** Whether a peer opens a TCP connection to the host's port, from `source` when given. */
async function connects(namespace: string, host: string, port: number, source?: string): Promise<boolean> {
  const bind = source === undefined ? "" : `,bind=${source}`;
  const connect = `TCP:${host}:${port},connect-timeout=2${bind}`;
  try {
    await run(["ip", "netns", "exec", namespace, "socat", "-u", "OPEN:/dev/null", connect]);
    return true;
  } catch {
    // Refused or timed out: closed to this peer.
    return false;
  }
}

/** The ports of `LISTENING` a peer could open a TCP connection to. */
async function reachablePorts(namespace: string, host: string, source?: string): Promise<number[]> {
  const open: number[] = [];
  for (const port of LISTENING) if (await connects(namespace, host, port, source)) open.push(port);
  return open;
}

/** Packets the host's nixos-fw chain accepted (any accept rule) since its counters were zeroed. */
async function acceptedPackets(namespace: string): Promise<number> {
  const listing = await run([
    "ip",
    "netns",
    "exec",
    namespace,
    "iptables",
    "-w",
    "-L",
    "nixos-fw",
    "-v",
    "-x",
    "-n",
  ]);
  return listing
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => columns[2] === "nixos-fw-accept")
    .reduce((sum, columns) => sum + Number(columns[0]), 0);
}

interface Observed {
  reachable: boolean;
  fromTailnet: number[];
  fromPod: number[];
  fromCiliumHostPod: number[];
  fromInternet: number[];
  fromCloudflare: number[];
  spoofedPodAccepted: number;
}

async function observe(server: FlakeServer, reachable: boolean): Promise<Observed> {
  const { reachableFromInternet, firewall } = hostFirewall(server.name, { reachableFromInternet: reachable });
  const { spoofedPod, ...links } = peersOf(String(server.clusterCidr));
  const id = `${process.pid}-${server.name}`;
  const host = `hf-host-${id}`;
  const peers = Object.fromEntries(Object.keys(links).map((name) => [name, `hf-${name}-${id}`])) as Record<
    keyof typeof links,
    string
  >;
  const namespaces = [host, ...Object.values(peers)];
  const ip = (namespace: string, ...args: string[]) => run(["ip", "-n", namespace, ...args]);
  const listeners: ChildProcess[] = [];
  try {
    for (const namespace of namespaces) await run(["ip", "netns", "add", namespace]);
    await ip(host, "link", "set", "lo", "up");
    for (const name of Object.keys(links) as (keyof typeof links)[]) {
      const { link, host: hostAddress, peer: peerAddress, prefix } = links[name];
      const peer = peers[name];
      await ip(host, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", peer);
      await ip(host, "addr", "add", `${hostAddress}/${prefix}`, "dev", link);
      await ip(peer, "addr", "add", `${peerAddress}/${prefix}`, "dev", "eth0");
      await ip(host, "link", "set", link, "up");
      await ip(peer, "link", "set", "eth0", "up");
      await ip(peer, "link", "set", "lo", "up");
    }
    const internet = peers.internet;
    await ip(host, "addr", "add", `${CLOUDFLARE_PEER.host}/${CLOUDFLARE_PEER.prefix}`, "dev", "eth0");
    await ip(internet, "addr", "add", `${CLOUDFLARE_PEER.peer}/${CLOUDFLARE_PEER.prefix}`, "dev", "eth0");
    await ip(internet, "addr", "add", `${spoofedPod}/32`, "dev", "eth0");
    // Loose reverse-path filtering, as tailscale.nix sets it: the spoofed packet reaches the firewall.
    for (const scope of ["all", "default", "eth0"]) {
      await run(["ip", "netns", "exec", host, "sysctl", "-qw", `net.ipv4.conf.${scope}.rp_filter=2`]);
    }
    await run(["ip", "netns", "exec", host, "sh", "-c", firewallScript(firewall)]);

    for (const port of LISTENING) {
      const listener = spawn(
        "ip",
        ["netns", "exec", host, "socat", `TCP-LISTEN:${port},fork,reuseaddr`, "SYSTEM:true"],
        { stdio: "ignore" },
      );
      listeners.push(listener);
    }
    await waitFor("the listeners", async () => {
      const sockets = await run(["ip", "netns", "exec", host, "ss", "-Htln"]);
      return LISTENING.every((port) => sockets.includes(`:${port} `)) ? true : undefined;
    });

    const observed: Observed = {
      reachable: reachableFromInternet,
      fromTailnet: await reachablePorts(peers.tailnet, links.tailnet.host),
      fromPod: await reachablePorts(peers.pod, links.pod.host),
      fromCiliumHostPod: await reachablePorts(peers.ciliumHostPod, links.ciliumHostPod.host),
      fromInternet: await reachablePorts(internet, links.internet.host, links.internet.peer),
      fromCloudflare: await reachablePorts(internet, links.internet.host, CLOUDFLARE_PEER.peer),
      spoofedPodAccepted: 0,
    };
    await run(["ip", "netns", "exec", host, "iptables", "-w", "-Z", "nixos-fw"]);
    await connects(internet, links.internet.host, 6443, spoofedPod);
    observed.spoofedPodAccepted = await acceptedPackets(host);
    return observed;
  } finally {
    for (const listener of listeners) listener.kill();
    for (const namespace of namespaces) await run(["ip", "netns", "del", namespace]).catch(() => {});
  }
}

describe("the host firewall in network namespaces", { skip: unavailable ?? false }, () => {
  // One server of each role, open and closed to the internet: the rules differ by role and by
  // whether the server is reachable, not by server.
  const servers = unavailable ? [] : flakeServers();
  for (const [role, reachable] of [
    ["cloud", true],
    ["home", false],
  ] as const) {
    const server = servers.find((candidate) => candidate.role === role);
    if (!server) continue;
    describe(`of ${server.name} (${role}, ${reachable ? "reachable" : "not reachable"} from the internet)`, () => {
      let seen: Observed;
      before(
        async () => {
          seen = await observe(server, reachable);
        },
        // A bound for a hang only: a timed-out hook cancels every test, and loaded CI machines are slow.
        { timeout: 600_000 },
      );

      it("lets the tailnet reach SSH and the Kubernetes API, and nothing else", () => {
        assert.deepEqual(seen.fromTailnet, [sshPort, 6443]);
      });

      it("lets a pod reach the API server, the kubelet and Hubble, and nothing else", () => {
        assert.deepEqual(seen.fromPod, [6443, 10250, 4244]);
      });

      it("lets a pod whose packets Cilium hands to cilium_host reach the same ports", () => {
        assert.deepEqual(seen.fromCiliumHostPod, [6443, 10250, 4244]);
      });

      it("lets an ordinary address on the internet reach nothing, not even SSH", () => {
        assert.deepEqual(seen.fromInternet, []);
      });

      it(
        reachable
          ? "lets Cloudflare's addresses reach 80 and 443, and nothing else"
          : "lets not even Cloudflare's addresses reach 80 and 443",
        () => {
          assert.equal(seen.reachable, reachable);
          assert.deepEqual(seen.fromCloudflare, reachable ? [80, 443] : []);
        },
      );

      it("accepts no packet that claims a pod address but arrives from the internet", () => {
        assert.equal(seen.spoofedPodAccepted, 0);
      });
    });
  }
});
