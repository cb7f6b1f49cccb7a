import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { render } from "@tools/synth/src/testing";
import { type HostnameArgs, resolveHostname } from "./hostname";

const stackExports = { shared: { domain: "example.com", server: { name: "cloud-a" } } };

/** The name `resolveHostname` gives in project notes on stack cloud-a, and any errors. */
async function resolve(args: HostnameArgs) {
  let hostname: string | undefined;
  const { errors } = await render(
    () => {
      resolveHostname(args).apply((name) => {
        hostname = name;
      });
    },
    { project: "notes", stack: "cloud-a", stackExports },
  );
  return { hostname, errors };
}

describe("resolveHostname", () => {
  const cases: { should: string; args: HostnameArgs; hostname: string }[] = [
    {
      should: "names an app that moves between servers in the shared domain only",
      args: { label: "vault", scope: "site" },
      hostname: "vault.example.com",
    },
    {
      should: "names a tool of one server after the server, so no two stacks own one record",
      args: { label: "dashboard", scope: "server" },
      hostname: "dashboard.cloud-a.example.com",
    },
    {
      should: "keeps a configured name inside the shared domain, whatever the scope",
      args: { label: "dashboard", scope: "server", configured: "k8s.home.example.com" },
      hostname: "k8s.home.example.com",
    },
  ];
  for (const { should, args, hostname } of cases) {
    it(should, async () => {
      assert.deepEqual(await resolve(args), { hostname, errors: [] });
    });
  }

  it("fails on a configured name outside the shared domain, naming the key, stack and domain", async () => {
    const { hostname, errors } = await resolve({
      label: "notes",
      scope: "site",
      configured: "notes.example.org",
      configKey: "hostname",
    });
    assert.equal(hostname, undefined);
    assert.deepEqual(errors, [
      'Config "notes:hostname" of stack "cloud-a" is notes.example.org, which is not in the shared ' +
        "project's domain example.com: use a name ending in .example.com.",
    ]);
  });

  it("refuses a label that is not a DNS label", async () => {
    assert.throws(() => resolveHostname({ label: "Vault_1", scope: "site" }), /"Vault_1" is not a DNS label/);
  });
});
