import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readConfig } from "@infra/core";
import { render } from "@tools/synth/src/testing";
import { recursiveNameservers, splitNameserver } from "./config";

/** Reads `cert-manager:recursiveNameservers` of stack cloud-a with this config; returns it or the error. */
async function read(config: Record<string, unknown>): Promise<{ value?: unknown; error?: Error }> {
  const outcome: { value?: unknown; error?: Error } = {};
  const rendered = await render(
    () => {
      try {
        outcome.value = readConfig("recursiveNameservers", recursiveNameservers);
      } catch (error) {
        outcome.error = error as Error;
      }
    },
    { project: "cert-manager", stack: "cloud-a", config },
  );
  assert.deepEqual(rendered.errors, []);
  return outcome;
}

describe("recursiveNameservers", () => {
  it("defaults to Cloudflare's and Quad9's resolvers on port 53", async () => {
    assert.deepEqual(await read({}), { value: ["1.1.1.1:53", "9.9.9.9:53"] });
  });

  it("rejects a resolver without a port, a host name or a bad port, naming the entry and the form", async () => {
    const { error } = await read({
      "cert-manager:recursiveNameservers": ["1.1.1.1", "dns.example.com:53", "9.9.9.9:70000"],
    });
    for (const index of [0, 1, 2]) {
      assert.match(
        error?.message ?? "",
        new RegExp(
          `cert-manager:recursiveNameservers\\.${index}: expected a resolver as <IPv4 address>:<port>`,
        ),
      );
    }
  });

  it("rejects an empty list", async () => {
    const { error } = await read({ "cert-manager:recursiveNameservers": [] });
    assert.match(error?.message ?? "", /cert-manager:recursiveNameservers: /);
  });
});

describe("splitNameserver", () => {
  it("gives a resolver's address and port", () => {
    assert.deepEqual(splitNameserver("192.0.2.53:5353"), { address: "192.0.2.53", port: 5353 });
  });
});
