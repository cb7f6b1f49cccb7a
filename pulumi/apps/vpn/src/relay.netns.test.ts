/**
 * The wg0.conf that synth renders for the example stack's first location (the `vpn` project on
 * cloud-a), run with the real wg-quick in network namespaces (see testing/relay-scenario.ts for
 * the topology), as root holding NET_ADMIN and no other capability, as the upstream container does;
 * only the endpoint and keys are replaced with test ones. Needs root, iproute2, iptables,
 * wireguard-tools, wireguard-go and setpriv; skipped with the reason where the machine lacks them.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  type RelayObservations,
  relayScenarioUnavailableReason,
  runRelayScenario,
} from "./testing/relay-scenario";
import { renderedRelay } from "./testing/rendered-relay";
import { relayDefaults } from "./wireguard-config";

const unavailable = relayScenarioUnavailableReason();

describe("VPN relay upstream in network namespaces", { skip: unavailable ?? false }, () => {
  let relay: RelayObservations;

  before(
    async () => {
      const rendered = await renderedRelay("cloud-a");
      relay = await runRelayScenario(rendered.conf, {
        tailscaleInterface: rendered.tailscaleInterface,
        dns: rendered.dns,
        mark: relayDefaults.mark,
      });
    },
    // A bound for a hang only: on a loaded CI machine the scenario (a synth of the project, then
    // the namespaces and the tunnel) has taken over a minute, and a timed-out hook cancels every test.
    { timeout: 600_000 },
  );

  it("masquerades client traffic behind the relay's tunnel address on its way through the tunnel", () => {
    assert.deepEqual(relay.clientToInternet, { seenSource: relay.addresses.tunnel });
  });

  it("sends the relay's own traffic around the tunnel", () => {
    assert.deepEqual(relay.relayToInternet, { seenSource: relay.addresses.relay });
  });

  it("puts none of the relay's own bytes into the tunnel", () => {
    // A few bytes of keepalive may pass meanwhile; the probe's 64 KiB may not.
    assert.ok(
      relay.tunnelBytesDuringRelayProbe < 1024,
      `wg0 sent ${relay.tunnelBytesDuringRelayProbe} bytes while the relay sent ${relay.relayProbeBytes}`,
    );
  });

  it("sends the relay's own DNS queries to the provider's server through the tunnel", () => {
    assert.deepEqual(relay.relayToDns, { seenSource: relay.addresses.tunnel });
  });

  it("routes the provider's DNS server via wg0 with and without the mark", () => {
    assert.deepEqual([relay.routes.dns, relay.routes.dnsMarked], ["wg0", "wg0"]);
  });

  it("routes only marked packets to other addresses via wg0", () => {
    assert.deepEqual([relay.routes.internet, relay.routes.internetMarked], ["eth0", "wg0"]);
  });

  it("leaves rules, routes and firewall as they were after wg-quick down", () => {
    assert.equal(relay.stateAfterDown, relay.stateBeforeUp);
  });

  it("refuses client traffic while wg0 is gone without its PreDown instead of letting it out unencrypted", () => {
    assert.deepEqual(relay.clientWhileTunnelGone, { error: "EHOSTUNREACH" });
    assert.deepEqual(relay.arrivalsWhileTunnelGone, []);
  });

  it("comes back up over the leftovers of a run without PreDown", () => {
    assert.deepEqual(relay.clientAfterRestart, { seenSource: relay.addresses.tunnel });
  });

  it("leaves no duplicates behind a restart over leftovers once wg-quick down ran", () => {
    assert.equal(relay.stateAfterRestartAndDown, relay.stateBeforeUp);
  });
});
