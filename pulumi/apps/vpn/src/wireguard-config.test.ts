import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { exampleLocation, placeholderKey } from "./testing/example-location";
import { configValues } from "./testing/wg-conf";
import {
  type RelayOptions,
  renderWireguardConfig,
  type VpnLocation,
  validateVpnLocation,
} from "./wireguard-config";

const privateKey = placeholderKey(2);
const relay: RelayOptions = { tailscaleInterface: "tailscale0" };

function render(location: Partial<VpnLocation> = {}, options: Partial<RelayOptions> = {}): string {
  return renderWireguardConfig({ ...exampleLocation, ...location }, privateKey, { ...relay, ...options });
}

const postUp = (conf: string) => configValues(conf, "Interface", "PostUp");
const preDown = (conf: string) => configValues(conf, "Interface", "PreDown");

/** The command a PostUp runs when nothing is there yet (after its `check ||` guard, if any). */
function addingCommand(hook: string): string {
  return hook.split(" || ").at(-1) ?? hook;
}

/** What undoes an adding command: iptables-nft -A → -D, ip rule add / route replace → del. */
function inverse(command: string): string {
  return command
    .replace(/^(iptables-nft -t \w+) -A /, "$1 -D ")
    .replace(/^(ip -4 (rule|route)) (add|replace) /, "$1 del ");
}

describe("renderWireguardConfig", () => {
  it("keeps the tunnel's default route in its own table, so wg-quick adds no routing rules of its own", () => {
    const conf = render();
    assert.deepEqual(configValues(conf, "Interface", "Table"), ["51820"]);
    assert.deepEqual(configValues(conf, "Peer", "AllowedIPs"), ["0.0.0.0/0"]);
  });

  it("configures the interface and peer from the location and key", () => {
    const conf = render();
    assert.deepEqual(configValues(conf, "Interface", "PrivateKey"), [privateKey]);
    assert.deepEqual(configValues(conf, "Interface", "Address"), ["10.0.0.2/32"]);
    assert.deepEqual(configValues(conf, "Peer", "PublicKey"), [exampleLocation.publicKey]);
    assert.deepEqual(configValues(conf, "Peer", "Endpoint"), ["192.0.2.10:51820"]);
    assert.deepEqual(configValues(conf, "Peer", "PersistentKeepalive"), ["25"]);
  });

  it("marks packets arriving on the Tailscale interface", () => {
    assert.ok(
      postUp(render())
        .map(addingCommand)
        .includes("iptables-nft -t mangle -A PREROUTING -i tailscale0 -j MARK --or-mark 0x1"),
    );
  });

  it("sends only marked packets to the tunnel's table", () => {
    const rules = postUp(render())
      .map(addingCommand)
      .filter((command) => command.includes(" rule "));
    assert.deepEqual(rules, ["ip -4 rule add priority 5200 fwmark 0x1/0x1 lookup 51820"]);
  });

  it("programs its firewall rules through iptables' nftables backend only, which needs no capability but NET_ADMIN", () => {
    const firewall = [...postUp(render()), ...preDown(render())].filter((hook) => hook.includes("iptables"));
    assert.equal(firewall.length, 4);
    for (const hook of firewall) {
      for (const command of hook.split(" || ")) assert.match(command, /^iptables-nft /, hook);
    }
  });

  it("masquerades traffic leaving through wg0", () => {
    assert.ok(
      postUp(render()).map(addingCommand).includes("iptables-nft -t nat -A POSTROUTING -o %i -j MASQUERADE"),
    );
  });

  it("routes the provider's DNS server through wg0 for the pod's own queries", () => {
    assert.ok(postUp(render()).includes("ip -4 route replace 10.0.0.1/32 dev %i"));
  });

  it("refuses marked traffic while wg0 is gone instead of letting it fall through to the main table", () => {
    assert.ok(postUp(render()).includes("ip -4 route replace unreachable default metric 4096 table 51820"));
  });

  it("undoes every PostUp with a PreDown, in reverse order", () => {
    const conf = render();
    assert.deepEqual(preDown(conf), postUp(conf).map(addingCommand).map(inverse).toReversed());
  });

  it("adds nothing twice when PostUp runs over what a run without PreDown left behind", () => {
    for (const hook of postUp(render())) {
      const guarded =
        / -C .* 2>\/dev\/null \|\| /.test(hook) || /^\[ -n "\$\(ip -4 rule show .*\)" \] \|\| /.test(hook);
      assert.ok(guarded || hook.startsWith("ip -4 route replace "), `not safe to run twice: ${hook}`);
    }
  });

  it("sets no DNS, so wg-quick never rewrites the pod's resolv.conf through resolvconf", () => {
    assert.deepEqual(configValues(render(), "Interface", "DNS"), []);
  });

  it("uses the interface, mark, table and rule priority given in the options", () => {
    const conf = render({}, { tailscaleInterface: "ts-exit", mark: 0x10, table: 100, rulePriority: 1000 });
    assert.deepEqual(configValues(conf, "Interface", "Table"), ["100"]);
    assert.deepEqual(postUp(conf).map(addingCommand).slice(-2), [
      "ip -4 rule add priority 1000 fwmark 0x10/0x10 lookup 100",
      "iptables-nft -t mangle -A PREROUTING -i ts-exit -j MARK --or-mark 0x10",
    ]);
  });

  it("renders hooks that shellcheck accepts as bash", (t) => {
    const conf = render();
    const script = ["#!/bin/bash", ...postUp(conf), ...preDown(conf), ""].join("\n").replaceAll("%i", "wg0");
    const shellcheck = spawnSync("shellcheck", ["-"], { input: script, encoding: "utf8" });
    if (shellcheck.error) return t.skip("shellcheck is not installed (Debian package shellcheck)");
    assert.equal(shellcheck.status, 0, shellcheck.stdout);
  });
});

describe("validateVpnLocation", () => {
  const problems = (location: Partial<VpnLocation>) =>
    validateVpnLocation({ ...exampleLocation, ...location });

  it("accepts a complete location", () => {
    assert.deepEqual(problems({}), []);
  });

  for (const endpoint of [
    "vpn.example.net:51820",
    "192.0.2.10",
    "192.0.2.10:0",
    "192.0.2.10:65536",
    "[2001:db8::1]:51820",
    "0.0.0.0:51820",
  ]) {
    it(`rejects the endpoint ${endpoint}, naming the location and field`, () => {
      assert.deepEqual(problems({ endpoint }), [
        `VPN location "example": endpoint ${JSON.stringify(endpoint)} is not <IPv4 address>:<port> with a ` +
          "unicast address, such as 192.0.2.10:51820",
      ]);
    });
  }

  for (const [why, publicKey] of [
    ["too short", Buffer.alloc(31).toString("base64")],
    ["too long", Buffer.alloc(33).toString("base64")],
    ["not canonical base64", `${placeholderKey(1).slice(0, 42)}B=`],
    ["carrying an extra line", `${placeholderKey(1)}\nPostUp = id`],
  ]) {
    it(`rejects a public key ${why}`, () => {
      assert.deepEqual(problems({ publicKey }), [
        `VPN location "example": publicKey ${JSON.stringify(publicKey)} is not a WireGuard key (base64 of 32 bytes)`,
      ]);
    });
  }

  for (const address of [
    "10.0.0.2",
    "10.0.0.2/33",
    "10.0.0.2/0",
    "10.0.0.256/32",
    "fd00::2/128",
    "127.0.0.2/32",
  ]) {
    it(`rejects the tunnel address ${address}`, () => {
      assert.deepEqual(problems({ address }), [
        `VPN location "example": address ${JSON.stringify(address)} is not an IPv4 unicast address with a prefix ` +
          "length, such as 10.0.0.2/32",
      ]);
    });
  }

  for (const dns of ["dns.example.net", "10.0.0.1/32", "127.0.0.53", "224.0.0.1"]) {
    it(`rejects the DNS server ${dns}`, () => {
      assert.deepEqual(problems({ dns }), [
        `VPN location "example": dns ${JSON.stringify(dns)} is not an IPv4 unicast address such as 10.0.0.1`,
      ]);
    });
  }

  it("rejects a DNS server that is the relay's own tunnel address", () => {
    assert.deepEqual(problems({ dns: "10.0.0.2" }), [
      `VPN location "example": dns 10.0.0.2 is the relay's own tunnel address; expected the provider's`,
    ]);
  });

  for (const name of ["Zurich", "", "-ch", "ch zurich"]) {
    it(`rejects the name ${JSON.stringify(name)}`, () => {
      assert.deepEqual(problems({ name }), [
        `VPN location ${JSON.stringify(name)}: name ${JSON.stringify(name)} is not a DNS label (lower case ` +
          "letters, digits and dashes, up to 63)",
      ]);
    });
  }

  it("reports every bad field at once", () => {
    const fields = problems({ endpoint: "x", publicKey: "y", address: "z", dns: "w" }).map(
      (problem) => problem.split(" ")[3],
    );
    assert.deepEqual(fields, ["endpoint", "publicKey", "address", "dns"]);
  });
});

describe("renderWireguardConfig validation", () => {
  it("throws with the location's problems", () => {
    assert.throws(() => render({ endpoint: "vpn.example.net:51820" }), {
      message:
        /^Cannot render wg0.conf:\n {2}VPN location "example": endpoint "vpn.example.net:51820" is not/,
    });
  });

  it("rejects a malformed private key without showing it", () => {
    const secret = `${placeholderKey(3).slice(0, 40)}`;
    assert.throws(
      () => renderWireguardConfig(exampleLocation, secret, relay),
      (error: Error) =>
        error.message.includes('VPN location "example": the private key is not a WireGuard key') &&
        !error.message.includes(secret),
    );
  });

  for (const tailscaleInterface of ["", "-i", "tailscale0-exit-node", "tail scale", "ts;id", "ts/0"]) {
    it(`rejects the Tailscale interface name ${JSON.stringify(tailscaleInterface)}`, () => {
      assert.throws(
        () => render({}, { tailscaleInterface }),
        (error: Error) =>
          error.message.includes(
            `relay option tailscaleInterface ${JSON.stringify(tailscaleInterface)} is not`,
          ),
      );
    });
  }

  for (const mark of [0, 0x40000, 0x80001, 2 ** 32, 1.5]) {
    it(`rejects the mark ${mark}`, () => {
      assert.throws(() => render({}, { mark }), {
        message: /relay option mark .* is not a non-zero 32-bit mark/,
      });
    });
  }

  for (const table of [0, 253, 254, 255, -1]) {
    it(`rejects the routing table ${table}`, () => {
      assert.throws(() => render({}, { table }), {
        message: /relay option table .* is not a routing table number/,
      });
    });
  }

  for (const rulePriority of [0, 32766, 40000]) {
    it(`rejects the rule priority ${rulePriority}`, () => {
      assert.throws(() => render({}, { rulePriority }), {
        message: /relay option rulePriority .* is not a rule priority/,
      });
    });
  }
});
