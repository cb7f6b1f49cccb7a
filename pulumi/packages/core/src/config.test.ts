import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { render } from "@tools/synth/src/testing";
import { z } from "zod";
import { ConfigError, readConfig, readSecretConfig } from "./config";
import { cidrsOverlap, domainName, ipv4, ipv4Cidr, port, storageConfig } from "./validators";

// A project and stack whose names appear nowhere else in the messages.
const project = "shared";
const stack = "cloud-a";

const network = z
  .object({ clusterCidr: ipv4Cidr, serviceCidr: ipv4Cidr })
  .refine((value) => !cidrsOverlap(value.clusterCidr, value.serviceCidr), {
    error: "clusterCidr and serviceCidr overlap",
  });

const host = z.object({
  internalIp: ipv4,
  sshPort: port.default(22),
  sshUser: z.string().default("root"),
});

/** Runs `read` as a program of stack cloud-a with this config; returns what it read or threw. */
async function readWith(
  config: Record<string, unknown>,
  read: () => unknown,
  secretKeys: string[] = [],
): Promise<{ value?: unknown; error?: unknown }> {
  const outcome: { value?: unknown; error?: unknown } = {};
  const rendered = await render(
    () => {
      try {
        outcome.value = read();
      } catch (error) {
        outcome.error = error;
      }
    },
    { project, stack, config, secretKeys },
  );
  assert.deepEqual(rendered.errors, []);
  return outcome;
}

/** The message of the ConfigError `read` throws. */
async function configError(config: Record<string, unknown>, read: () => unknown, secretKeys?: string[]) {
  const { value, error } = await readWith(config, read, secretKeys);
  assert.ok(
    error instanceof ConfigError,
    `expected a ConfigError, got ${String(error)} (read ${JSON.stringify(value)})`,
  );
  return error.message;
}

describe("readConfig", () => {
  it("fails on a misspelled key inside a setting instead of rendering the default, suggesting the key meant", async () => {
    const message = await configError({ "shared:storage": { sise: "20Gi" } }, () =>
      readConfig("storage", storageConfig("10Gi")),
    );
    assert.match(
      message,
      /^Invalid config for stack "cloud-a" \(Pulumi\.cloud-a\.yaml of project "shared"\)/,
    );
    assert.match(message, /shared:storage\.sise is not a setting; did you mean size\?/);
  });

  it("accepts any Kubernetes size quantity for a volume", async () => {
    const { value, error } = await readWith({ "shared:storage": { size: "20G" } }, () =>
      readConfig("storage", storageConfig("10Gi")),
    );
    assert.equal(error, undefined);
    assert.deepEqual(value, { size: "20G" });
  });

  it("fails on a missing key, naming the stack, the key and what is expected", async () => {
    const message = await configError({}, () => readConfig("domain", domainName));
    assert.match(message, /^Missing config "shared:domain" for stack "cloud-a" \(Pulumi\.cloud-a\.yaml/);
    assert.match(message, /shared:domain: expected a lower-case DNS name such as example\.com/);
  });

  it("fails on a missing structured key, saying an object is expected", async () => {
    const message = await configError({}, () => readConfig("network", network));
    assert.match(message, /Missing config "shared:network" for stack "cloud-a"/);
    assert.match(message, /shared:network: .*expected object/);
  });

  it("fails on a missing field, naming project:key.field and the form expected", async () => {
    const message = await configError({ "shared:network": { clusterCidr: "10.42.0.0/16" } }, () =>
      readConfig("network", network),
    );
    assert.match(message, /stack "cloud-a"/);
    assert.match(message, /shared:network\.serviceCidr: expected an IPv4 network in CIDR form/);
  });

  it("fails on a bad CIDR, naming the stack, project:key.field and the form expected", async () => {
    const message = await configError(
      { "shared:network": { clusterCidr: "10.42.0.1/16", serviceCidr: "10.43.0.0/16" } },
      () => readConfig("network", network),
    );
    assert.match(
      message,
      /^Invalid config for stack "cloud-a" \(Pulumi\.cloud-a\.yaml of project "shared"\)/,
    );
    assert.match(
      message,
      /shared:network\.clusterCidr: expected an IPv4 network in CIDR form such as 10\.42\.0\.0\/16 \(the address must be the network address\)/,
    );
    assert.doesNotMatch(message, /serviceCidr:/);
    assert.match(message, /pulumi config set --path network\.<field> <value> --stack cloud-a/);
  });

  it("fails on overlapping ranges, naming the stack, the key and the overlap", async () => {
    const message = await configError(
      { "shared:network": { clusterCidr: "10.42.0.0/15", serviceCidr: "10.43.0.0/16" } },
      () => readConfig("network", network),
    );
    assert.match(message, /stack "cloud-a"/);
    assert.match(message, /shared:network: clusterCidr and serviceCidr overlap/);
  });

  it("reports every problem of a key at once", async () => {
    const message = await configError({ "shared:host": { internalIp: "10.0.0.256", sshPort: 70000 } }, () =>
      readConfig("host", host),
    );
    assert.match(message, /shared:host\.internalIp: expected an IPv4 address/);
    assert.match(message, /shared:host\.sshPort: .*65535/);
  });

  it("tells how to set a bad scalar key without --path", async () => {
    const message = await configError({ "shared:domain": "Example.COM" }, () =>
      readConfig("domain", domainName),
    );
    assert.match(message, /shared:domain: expected a lower-case DNS name/);
    assert.match(message, /Set it with: pulumi config set domain <value> --stack cloud-a/);
  });

  it("parses good config, applying the schema's defaults", async () => {
    const { value, error } = await readWith({ "shared:host": { internalIp: "10.0.0.5" } }, () => ({
      host: readConfig("host", host),
      network: readConfig(
        "network",
        z.object({ clusterCidr: ipv4Cidr }).default({ clusterCidr: "10.42.0.0/16" }),
      ),
    }));
    assert.equal(error, undefined);
    assert.deepEqual(value, {
      host: { internalIp: "10.0.0.5", sshPort: 22, sshUser: "root" },
      network: { clusterCidr: "10.42.0.0/16" },
    });
  });

  it("reads a scalar as a number or as text, whichever the schema wants", async () => {
    const { value, error } = await readWith(
      { "shared:sshPort": "2222", "shared:k3sVersion": "1.30" },
      () => ({
        sshPort: readConfig("sshPort", port),
        // YAML would have made 1.30 the number 1.3: the text is what the user wrote.
        k3sVersion: readConfig("k3sVersion", z.string()),
      }),
    );
    assert.equal(error, undefined);
    assert.deepEqual(value, { sshPort: 2222, k3sVersion: "1.30" });
  });
});

describe("readSecretConfig", () => {
  it("reads a secret key as a Pulumi secret", async () => {
    let read: pulumi.Output<string> | undefined;
    const rendered = await render(
      async () => {
        read = readSecretConfig("cloudflareToken");
        // Resolved inside the program, while the mock runtime is still up.
        const [secret, text] = await Promise.all([
          pulumi.isSecret(read),
          new Promise<string>((resolve) => read?.apply(resolve)),
        ]);
        assert.equal(secret, true);
        assert.equal(text, "cf-token");
      },
      {
        project,
        stack,
        config: { "shared:cloudflareToken": "cf-token" },
        secretKeys: ["shared:cloudflareToken"],
      },
    );
    assert.deepEqual(rendered.errors, []);
    assert.ok(read);
  });

  it("fails on a secret stored in plain text, naming the stack, the key and how to store it", async () => {
    const message = await configError({ "shared:cloudflareToken": "cf-token" }, () =>
      readSecretConfig("cloudflareToken"),
    );
    assert.match(
      message,
      /"shared:cloudflareToken" of stack "cloud-a" is stored in plain text; it must be a secret/,
    );
    assert.match(message, /pulumi config set --secret cloudflareToken <value> --stack cloud-a/);
    // The message may end up in logs: the value must not be in it.
    assert.doesNotMatch(message, /cf-token/);
  });

  it("fails on a missing secret, naming the stack, the key and how to set it", async () => {
    const message = await configError({}, () => readSecretConfig("cloudflareToken"));
    assert.match(message, /Missing secret config "shared:cloudflareToken" for stack "cloud-a"/);
    assert.match(message, /pulumi config set --secret cloudflareToken <value> --stack cloud-a/);
  });
});
