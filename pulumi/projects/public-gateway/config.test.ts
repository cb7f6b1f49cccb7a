import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hstsConfig, hstsHeader, ownsZoneSettingsConfig, zoneSettingsConfig } from "./config";

describe("the public gateway's config", () => {
  it("owns no zone settings unless told, and keeps TLS 1.2 as the zone's oldest version by default", () => {
    assert.equal(ownsZoneSettingsConfig.parse(undefined), false);
    assert.deepEqual(zoneSettingsConfig.parse(undefined), { minTlsVersion: "1.2" });
    assert.equal(zoneSettingsConfig.safeParse({ minTlsVersion: "1.1" }).success, false);
    assert.equal(zoneSettingsConfig.safeParse({ minTlsVersion: "1.2", ssl: "flexible" }).success, false);
  });

  it("sends HSTS for a year, without subdomains, by default", () => {
    assert.equal(hstsHeader(hstsConfig.parse(undefined)), "max-age=31536000");
    assert.equal(
      hstsHeader(hstsConfig.parse({ maxAge: 63072000, includeSubdomains: true })),
      "max-age=63072000; includeSubDomains",
    );
    assert.equal(hstsConfig.safeParse({ maxAge: -1 }).success, false);
  });
});
