import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyHosts, hostPeers } from "./hosts";

describe("classifyHosts and hostPeers", () => {
  it("sorts hosts into DNS names, patterns and ranges, an address being a /32", () => {
    assert.deepEqual(
      classifyHosts(["smtp.example.com", "*.b2.example.net", "198.51.100.7", "203.0.113.0/24"]),
      {
        fqdns: ["smtp.example.com"],
        fqdnPatterns: ["*.b2.example.net"],
        cidrs: ["198.51.100.7/32", "203.0.113.0/24"],
      },
    );
  });

  it("makes one peer per kind present, since Cilium rejects a rule mixing kinds", () => {
    assert.deepEqual(hostPeers(classifyHosts(["a.example.com", "b.example.com", "0.0.0.0/0"])), [
      { fqdns: ["a.example.com", "b.example.com"] },
      { cidrs: ["0.0.0.0/0"] },
    ]);
    assert.deepEqual(hostPeers(classifyHosts([])), []);
  });
});
