import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reservedServiceAddress, reservedServiceAddresses } from "./service-addresses";

describe("reservedServiceAddress", () => {
  it("gives the internal gateway the 53rd address of the service range, whatever the range", () => {
    assert.equal(reservedServiceAddress("10.43.0.0/16", "internal-gateway"), "10.43.0.53");
    assert.equal(reservedServiceAddress("172.20.128.0/17", "internal-gateway"), "172.20.128.53");
    assert.equal(reservedServiceAddress("192.168.7.0/25", "internal-gateway"), "192.168.7.53");
  });

  it("gives every owner its own address, below the DNS service's and the dynamic ones", () => {
    const indexes = Object.values(reservedServiceAddresses);
    assert.equal(new Set(indexes).size, indexes.length);
    // Kubernetes keeps at least the first 16 addresses (more on larger ranges) for fixed IPs.
    for (const index of indexes) assert.ok(index > 10 && index < 64, String(index));
  });

  it("fails on a range too small to hold it, saying what to change", () => {
    assert.throws(
      () => reservedServiceAddress("192.168.7.0/27", "syncthing"),
      /192\.168\.7\.0\/27 is too small for the fixed address of syncthing.*shared:network\.serviceCidr/,
    );
  });
});
