import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HeadscaleLogin } from "@infra/tailscale";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { createHeadscaleLogin, readHeadscaleApiKey, readTailnetControl } from "./login";

const control = {
  kind: "headscale" as const,
  server: "cloud-a",
  hostname: "headscale.example.com",
  port: 8443,
  url: "https://headscale.example.com:8443",
};

describe("createHeadscaleLogin", () => {
  it("makes the device's key at the site's Headscale for its tag, and says where Headscale answers", async () => {
    let login: HeadscaleLogin | undefined;
    const rendered = await render(() => {
      login = createHeadscaleLogin({
        name: "tailscale-router",
        control,
        apiKey: pulumi.secret("hskey-api-EXAMPLE"),
        tag: "tag:k8s-router-cloud-a",
        expirySeconds: 3600,
      });
    });
    assert.deepEqual(rendered.errors, []);
    const key = rendered.resources.find(
      (resource) => resource.type === "pulumi-nodejs:dynamic/headscale:PreAuthKey",
    );
    assert.equal(key?.name, "tailscale-router");
    assert.equal(key?.inputs.serverUrl, control.url);
    assert.deepEqual(key?.inputs.tags, ["tag:k8s-router-cloud-a"]);
    assert.equal(key?.inputs.expirySeconds, 3600);
    assert.equal(login?.loginServer, control.url);
    assert.deepEqual(login?.endpoint, {
      port: 8443,
      namespace: "headscale",
      podLabels: { "app.kubernetes.io/name": "headscale" },
    });
  });
});

describe("readTailnetControl and readHeadscaleApiKey", () => {
  async function read(shared: Record<string, unknown>) {
    let found: { control?: unknown; apiKey?: string; secret?: boolean } = {};
    await render(
      async () => {
        const reference = new pulumi.StackReference("organization/shared/test");
        const apiKey = await readHeadscaleApiKey(reference);
        found = {
          control: await readTailnetControl(reference),
          ...(apiKey
            ? {
                apiKey: await new Promise<string>((resolve) => apiKey.apply(resolve)),
                secret: await pulumi.isSecret(apiKey),
              }
            : {}),
        };
      },
      { stackExports: { shared } },
    );
    return found;
  }

  it("read the shared project's tailnetControl, and its API key as a secret", async () => {
    assert.deepEqual(await read({ tailnetControl: control, headscaleApiKey: "hskey-api-EXAMPLE" }), {
      control,
      apiKey: "hskey-api-EXAMPLE",
      secret: true,
    });
  });

  it("find no API key before the operator set one", async () => {
    assert.deepEqual(await read({ tailnetControl: control }), { control });
  });
});
