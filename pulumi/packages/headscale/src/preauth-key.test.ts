import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { HeadscalePreAuthKey, type PreAuthKeyInputs, preAuthKeyProvider } from "./preauth-key";

interface Received {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** A stand-in for Headscale's REST API: records each request and answers as CreatePreAuthKey does. */
let server: Server;
let received: Received[] = [];
let answer: { status: number; body: unknown };
let url: string;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

before(async () => {
  server = createServer(async (request, response) => {
    received.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.authorization,
      contentType: request.headers["content-type"],
      body: JSON.parse(await readBody(request)),
    });
    response.writeHead(answer.status, { "Content-Type": "application/json" });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const inputs = (): PreAuthKeyInputs => ({
  serverUrl: url,
  apiKey: "hskey-api-EXAMPLE",
  tags: ["tag:k8s-router-cloud-a"],
  expirySeconds: 3600,
  ephemeral: false,
});

describe("preAuthKeyProvider.create", () => {
  it("asks Headscale for a single-use, tagged, non-ephemeral key expiring after expirySeconds, with the API key as bearer", async () => {
    received = [];
    answer = {
      status: 200,
      body: {
        preAuthKey: {
          id: "7",
          key: "hskey-auth-abc-secret",
          expiration: "2026-12-03T20:00:00Z",
          aclTags: ["tag:k8s-router-cloud-a"],
        },
      },
    };
    const before = Date.now();
    const result = await preAuthKeyProvider.create(inputs());
    const [request] = received;
    assert.equal(received.length, 1);
    assert.equal(request?.method, "POST");
    assert.equal(request?.url, "/api/v1/preauthkey");
    assert.equal(request?.authorization, "Bearer hskey-api-EXAMPLE");
    assert.equal(request?.contentType, "application/json");
    const { expiration, ...body } = request?.body ?? {};
    assert.deepEqual(body, { reusable: false, ephemeral: false, aclTags: ["tag:k8s-router-cloud-a"] });
    const expires = Date.parse(String(expiration));
    assert.ok(expires >= before + 3600_000 && expires <= Date.now() + 3600_000, `expiration ${expiration}`);
    assert.equal(result.id, "7");
    assert.equal(result.outs?.key, "hskey-auth-abc-secret");
    assert.equal(result.outs?.expiration, "2026-12-03T20:00:00Z");
    assert.equal(
      (result.outs as unknown as Record<string, unknown>).apiKey,
      undefined,
      "the API key is never an output",
    );
  });

  it("fails with Headscale's answer when it refuses (an expired API key, an undefined tag)", async () => {
    answer = { status: 401, body: { code: 16, message: "Unauthorized" } };
    await assert.rejects(
      preAuthKeyProvider.create(inputs()),
      /refused a pre-auth key for tag:k8s-router-cloud-a: HTTP 401/,
    );
  });
});

describe("preAuthKeyProvider.diff", () => {
  const outs = {
    serverUrl: "https://hs",
    tags: ["tag:a"],
    expirySeconds: 3600,
    ephemeral: false,
    key: "k",
    expiration: "x",
  };

  it("keeps the key when only the API key changes", async () => {
    const diff = await preAuthKeyProvider.diff?.("7", outs, {
      ...outs,
      apiKey: "rotated",
    } as unknown as PreAuthKeyInputs);
    assert.deepEqual(diff, { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("makes a new key when its tag or expiry changes", async () => {
    const diff = await preAuthKeyProvider.diff?.("7", outs, {
      ...outs,
      apiKey: "a",
      tags: ["tag:b"],
      expirySeconds: 60,
    } as unknown as PreAuthKeyInputs);
    assert.deepEqual(diff?.replaces, ["tags", "expirySeconds"]);
  });
});

describe("HeadscalePreAuthKey", () => {
  it("registers as headscale:PreAuthKey with the API key secret, and keeps the key a secret output", async () => {
    let keySecret: boolean | undefined;
    const rendered = await render(async () => {
      const key = new HeadscalePreAuthKey("router", {
        serverUrl: "https://headscale.example.com:8443",
        apiKey: "hskey-api-EXAMPLE",
        tag: "tag:k8s-router-cloud-a",
        expirySeconds: 600,
      });
      keySecret = await pulumi.isSecret(key.key);
    });
    assert.deepEqual(rendered.errors, []);
    const resource = rendered.resources.find(
      (candidate) => candidate.type === "pulumi-nodejs:dynamic/headscale:PreAuthKey",
    );
    assert.ok(resource, rendered.resources.map((candidate) => candidate.type).join(", "));
    assert.equal(resource.inputs.serverUrl, "https://headscale.example.com:8443");
    assert.deepEqual(resource.inputs.tags, ["tag:k8s-router-cloud-a"]);
    assert.equal(resource.inputs.expirySeconds, 600);
    assert.equal(resource.inputs.ephemeral, false);
    assert.equal(JSON.stringify(resource.inputs.apiKey).includes("hskey-api-EXAMPLE"), true);
    assert.equal(keySecret, true);
  });
});
