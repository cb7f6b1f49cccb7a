import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gatewayAddress } from "./address";

describe("gatewayAddress", () => {
  it("is the 53rd address of the service range, whatever the range", () => {
    assert.equal(gatewayAddress("10.43.0.0/16"), "10.43.0.53");
    assert.equal(gatewayAddress("172.20.128.0/17"), "172.20.128.53");
    assert.equal(gatewayAddress("192.168.7.0/26"), "192.168.7.53");
  });

  it("fails on a range too small to hold it, saying what to change", () => {
    assert.throws(
      () => gatewayAddress("192.168.7.0/27"),
      /192\.168\.7\.0\/27 is too small.*shared:network\.serviceCidr/,
    );
  });
});
