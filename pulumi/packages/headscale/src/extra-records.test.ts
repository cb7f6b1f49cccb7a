import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderExtraRecords } from "./extra-records";

describe("renderExtraRecords", () => {
  it("writes one A record per private name, sorted by name, as docs/ref/dns.md shows the file", () => {
    const file = renderExtraRecords([
      { hostname: "vault.internal.example.com", address: "10.43.0.53" },
      { hostname: "sync.internal.example.com", address: "10.47.0.54" },
      { hostname: "dashboard.cloud-a.internal.example.com", address: "10.43.0.53" },
    ]);
    assert.deepEqual(JSON.parse(file), [
      { name: "dashboard.cloud-a.internal.example.com", type: "A", value: "10.43.0.53" },
      { name: "sync.internal.example.com", type: "A", value: "10.47.0.54" },
      { name: "vault.internal.example.com", type: "A", value: "10.43.0.53" },
    ]);
  });

  it("gives the same bytes for the same names in any order (Headscale compares the file's checksum)", () => {
    const a = { hostname: "a.internal.example.com", address: "10.43.0.53" };
    const b = { hostname: "b.internal.example.com", address: "10.43.0.54" };
    assert.equal(renderExtraRecords([a, b]), renderExtraRecords([b, a, b]));
    assert.match(
      renderExtraRecords([a]),
      /^\[\n {2}\{\n {4}"name": "a\.internal\.example\.com",\n {4}"type": "A",\n {4}"value": "10\.43\.0\.53"\n {2}\}\n\]\n$/,
    );
  });

  it("writes an empty list when there is no private name", () => {
    assert.equal(renderExtraRecords([]), "[]\n");
  });

  it("refuses one name with two addresses", () => {
    assert.throws(
      () =>
        renderExtraRecords([
          { hostname: "a.internal.example.com", address: "10.43.0.53" },
          { hostname: "a.internal.example.com", address: "10.45.0.53" },
        ]),
      /a\.internal\.example\.com is both 10\.43\.0\.53 and 10\.45\.0\.53/,
    );
  });
});
