import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkTailnetPorts,
  reservedServiceAddress,
  reservedServiceAddresses,
  tailnetDestinations,
} from "./service-addresses";

describe("reservedServiceAddress", () => {
  it("gives the internal gateway the 53rd address of the service range, whatever the range", () => {
    assert.equal(reservedServiceAddress("10.43.0.0/16", "internal-gateway"), "10.43.0.53");
    assert.equal(reservedServiceAddress("172.20.128.0/17", "internal-gateway"), "172.20.128.53");
    assert.equal(reservedServiceAddress("192.168.7.0/25", "internal-gateway"), "192.168.7.53");
  });

  it("gives the private DNS the 55th address, which the tailnet's split DNS names as the server's nameserver", () => {
    assert.equal(reservedServiceAddress("10.43.0.0/16", "private-dns"), "10.43.0.55");
    assert.equal(reservedServiceAddress("10.47.0.0/16", "private-dns"), "10.47.0.55");
  });

  it("gives every owner its own address, below the DNS service's and the dynamic ones", () => {
    const indexes = Object.values(reservedServiceAddresses).map((reserved) => reserved.index);
    assert.equal(new Set(indexes).size, indexes.length);
    // Kubernetes keeps at least the first 16 addresses (more on larger ranges) for fixed IPs.
    for (const index of indexes) assert.ok(index > 10 && index < 64, String(index));
  });

  it("fails on a range too small to hold it, saying what to change", () => {
    assert.throws(
      () => reservedServiceAddress("192.168.7.0/27", "syncthing"),
      /192\.168\.7\.0\/27 is too small for the fixed address of syncthing.*network\.serviceCidr in servers/,
    );
  });
});

describe("tailnetDestinations", () => {
  it("lets the tailnet reach each fixed address of a range as a /32, on that address's ports: the internal gateway, the private DNS and Syncthing", () => {
    assert.deepEqual(tailnetDestinations("10.43.0.0/16"), [
      {
        owner: "internal-gateway",
        route: "10.43.0.53/32",
        ports: [
          { port: 80, protocol: "TCP" },
          { port: 443, protocol: "TCP" },
        ],
      },
      {
        owner: "private-dns",
        route: "10.43.0.55/32",
        ports: [
          { port: 53, protocol: "UDP" },
          { port: 53, protocol: "TCP" },
        ],
      },
      {
        owner: "syncthing",
        route: "10.43.0.54/32",
        ports: [
          { port: 22000, protocol: "TCP" },
          { port: 22000, protocol: "UDP" },
        ],
      },
    ]);
  });

  it("never routes the API server's or the cluster DNS's address", () => {
    const routes = tailnetDestinations("10.43.0.0/16").map((destination) => destination.route);
    assert.ok(!routes.includes("10.43.0.1/32"), "the API server's service address is routed");
    assert.ok(!routes.includes("10.43.0.10/32"), "the cluster DNS address is routed");
    for (const route of routes) assert.match(route, /\/32$/);
  });
});

describe("checkTailnetPorts", () => {
  it("accepts a Service serving exactly its address's ports, TCP unless it says otherwise", () => {
    checkTailnetPorts("internal-gateway", [{ port: 443 }, { port: 80, protocol: "TCP" }]);
    checkTailnetPorts("syncthing", [{ port: 22000, protocol: "UDP" }, { port: 22000 }]);
    checkTailnetPorts("private-dns", [{ port: 53, protocol: "UDP" }, { port: 53 }]);
  });

  it("fails on a port the tailnet policy does not grant there, or one it grants that is not served, naming the table", () => {
    assert.throws(
      () =>
        checkTailnetPorts("syncthing", [
          { port: 22000 },
          { port: 22000, protocol: "UDP" },
          { port: 21027, protocol: "UDP" },
        ]),
      /syncthing serves 22000\/TCP, 22000\/UDP, 21027\/UDP, but the tailnet reaches 22000\/TCP, 22000\/UDP there: change its tailnetPorts in reservedServiceAddresses/,
    );
    assert.throws(
      () => checkTailnetPorts("internal-gateway", [{ port: 443 }]),
      /serves 443\/TCP, but the tailnet reaches 80\/TCP, 443\/TCP/,
    );
  });
});
