import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type ExampleOutput,
  exampleStacks,
  setConfig,
  synthExampleStacks,
} from "@tools/synth/src/e2e/example-stacks";
import { secretPlaceholder } from "@tools/synth/src/stack-config";

const project = "cert-manager";

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([project]);
});
after(() => output.remove());

describe("cert-manager's Cloudflare token on the example stacks", () => {
  it("is this cluster's own, from cert-manager's stack file, in the Secret the public issuer reads", async () => {
    for (const stack of exampleStacks) {
      // Run again to see the Secret's value (synth writes every secret redacted).
      const run = await output.rerun(stack, project, () => {});
      assert.deepEqual(run.errors, []);
      const token = run.manifest("Secret", "cloudflare-api-token").stringData["api-token"];
      assert.equal(token, secretPlaceholder(stack, "cert-manager:cloudflareApiToken"), stack);
      assert.notEqual(token, secretPlaceholder(stack, "shared:cloudflareApiToken"), stack);
      const issuer = run.manifest("ClusterIssuer", "public");
      assert.deepEqual(issuer.spec.acme.solvers[0].dns01.cloudflare.apiTokenSecretRef, {
        name: "cloudflare-api-token",
        key: "api-token",
      });
      // Written nowhere in clear text.
      const leaks = output
        .files(stack)
        .filter((file) => file.text.includes(secretPlaceholder(stack, "cert-manager:cloudflareApiToken")));
      assert.deepEqual(
        leaks.map((file) => file.path),
        [],
      );
    }
  });

  it("is refused when it is the operator's token, which manages the whole zone", async () => {
    const stack = "cloud-a";
    const run = await output.rerun(
      stack,
      project,
      setConfig(project, {}, { cloudflareApiToken: secretPlaceholder(stack, "shared:cloudflareApiToken") }),
    );
    const errors = run.errors.join("\n");
    assert.match(
      errors,
      /cert-manager:cloudflareApiToken is the operator's token \(shared:cloudflareApiToken\)/,
    );
    assert.match(errors, /Zone → DNS → Edit and Zone → Zone → Read/);
    // The message never shows the token.
    assert.ok(!errors.includes(secretPlaceholder(stack, "shared:cloudflareApiToken")));
  });

  it("must be set, and set as a secret", async () => {
    const missing = await output.rerun("local-a", project, (config) => {
      delete config.values["cert-manager:cloudflareApiToken"];
    });
    assert.match(
      missing.errors.join("\n"),
      /Missing secret config "cert-manager:cloudflareApiToken" for stack "local-a"/,
    );
    const plain = await output.rerun("local-a", project, (config) => {
      config.secretKeys = config.secretKeys.filter((key) => key !== "cert-manager:cloudflareApiToken");
    });
    assert.match(
      plain.errors.join("\n"),
      /"cert-manager:cloudflareApiToken" of stack "local-a" is stored in plain text/,
    );
  });
});
