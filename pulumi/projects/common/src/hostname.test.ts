import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { render } from "@tools/synth/src/testing";
import { type HostnameArgs, resolveHostname } from "./hostname";

const stackExports = {
  shared: { domain: "example.com", privateDomain: "internal.example.com", server: { name: "cloud-a" } },
};

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
      should: "names a private app that moves between servers in the private domain only",
      args: { label: "vault", scope: "site", gateway: "private" },
      hostname: "vault.internal.example.com",
    },
    {
      should: "names a private tool of one server after the server, inside the private domain",
      args: { label: "dashboard", scope: "server", gateway: "private" },
      hostname: "dashboard.cloud-a.internal.example.com",
    },
    {
      should: "names a public app in the domain, where Cloudflare publishes it",
      args: { label: "blog", scope: "site", gateway: "public" },
      hostname: "blog.example.com",
    },
    {
      should: "keeps a configured private name of one label under the private domain",
      args: {
        label: "vault",
        scope: "site",
        gateway: "private",
        configured: "passwords.internal.example.com",
      },
      hostname: "passwords.internal.example.com",
    },
    {
      should: "keeps a configured private name of a server under the server's private zone",
      args: {
        label: "dashboard",
        scope: "server",
        gateway: "private",
        configured: "k8s.cloud-a.internal.example.com",
      },
      hostname: "k8s.cloud-a.internal.example.com",
    },
    {
      should: "keeps a configured public name anywhere in the domain outside the private domain",
      args: { label: "blog", scope: "site", gateway: "public", configured: "www.home.example.com" },
      hostname: "www.home.example.com",
    },
  ];
  for (const { should, args, hostname } of cases) {
    it(should, async () => {
      assert.deepEqual(await resolve(args), { hostname, errors: [] });
    });
  }

  const refusals: { should: string; args: HostnameArgs; error: string }[] = [
    {
      should: "refuses a public name outside the shared domain, naming the key, stack and domain",
      args: { label: "notes", scope: "site", gateway: "public", configured: "notes.example.org" },
      error:
        'Config "notes:hostname" of stack "cloud-a" is notes.example.org, which is not in the shared ' +
        "project's domain example.com: use a name ending in .example.com.",
    },
    {
      should: "refuses a public name in the private domain, which is never published",
      args: { label: "blog", scope: "site", gateway: "public", configured: "blog.internal.example.com" },
      error:
        'Config "notes:hostname" of stack "cloud-a" is blog.internal.example.com, which lies in the private ' +
        "domain internal.example.com, which is never published: use a public name outside it, such as blog.example.com.",
    },
    {
      should: "refuses a private name in the public domain, which Cloudflare would publish",
      args: { label: "vault", scope: "site", gateway: "private", configured: "vault.example.com" },
      error:
        'Config "notes:hostname" of stack "cloud-a" is vault.example.com, which is not a private name of this ' +
        "site (one label under internal.example.com): use a name such as vault.internal.example.com, which the " +
        "tailnet's DNS serves and the wildcard certificate covers.",
    },
    {
      should: "refuses a private name two labels deep, which no wildcard certificate covers",
      args: {
        label: "vault",
        scope: "site",
        gateway: "private",
        configured: "vault.home.internal.example.com",
        configKey: "hostnames.api",
      },
      error:
        'Config "notes:hostnames.api" of stack "cloud-a" is vault.home.internal.example.com, which is not a ' +
        "private name of this site (one label under internal.example.com): use a name such as " +
        "vault.internal.example.com, which the tailnet's DNS serves and the wildcard certificate covers.",
    },
    {
      should: "refuses a server's private name under another server",
      args: {
        label: "s3",
        scope: "server",
        gateway: "private",
        configured: "s3.cloud-b.internal.example.com",
      },
      error:
        'Config "notes:hostname" of stack "cloud-a" is s3.cloud-b.internal.example.com, which is not a private ' +
        "name of this server (one label under cloud-a.internal.example.com): use a name such as " +
        "s3.cloud-a.internal.example.com, which the tailnet's DNS serves and the wildcard certificate covers.",
    },
  ];
  for (const { should, args, error } of refusals) {
    it(should, async () => {
      assert.deepEqual(await resolve(args), { hostname: undefined, errors: [error] });
    });
  }

  it("refuses a label that is not a DNS label", async () => {
    assert.throws(
      () => resolveHostname({ label: "Vault_1", scope: "site", gateway: "private" }),
      /"Vault_1" is not a DNS label/,
    );
  });
});
