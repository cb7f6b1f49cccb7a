import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ProjectInfo } from "./projects";
import { readStackConfig, secretPlaceholder } from "./stack-config";

const dir = mkdtempSync(join(tmpdir(), "synth-stack-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function project(stackFile: string, configDefaults: Record<string, unknown> = {}): ProjectInfo {
  writeFileSync(join(dir, "Pulumi.lab.yaml"), stackFile);
  return { name: "app", dir, main: join(dir, "index.ts"), stacks: ["lab"], configDefaults };
}

describe("readStackConfig", () => {
  it("replaces a secure value with its placeholder and marks the key secret", () => {
    const config = readStackConfig(
      project("config:\n  app:token:\n    secure: AAABAFakeCiphertext==\n  app:user: admin\n"),
      "lab",
    );
    const placeholder = secretPlaceholder("lab", "app:token");
    assert.deepEqual(config, {
      values: { "app:token": placeholder, "app:user": "admin" },
      secretKeys: ["app:token"],
      secretValues: [placeholder],
    });
  });

  it("marks a structured value secret when any field in it is secure, with one placeholder per field", () => {
    const config = readStackConfig(
      project("config:\n  app:db:\n    user: app\n    password:\n      secure: AAABAFakeCiphertext==\n"),
      "lab",
    );
    const placeholder = secretPlaceholder("lab", "app:db.password");
    assert.deepEqual(JSON.parse(config.values["app:db"] ?? ""), { user: "app", password: placeholder });
    assert.deepEqual(config.secretKeys, ["app:db"]);
    assert.deepEqual(config.secretValues, [placeholder]);
  });

  it("lets the stack file override the project's defaults", () => {
    const config = readStackConfig(
      project("config:\n  app:replicas: 3\n", { "app:replicas": 1, "app:mode": "x" }),
      "lab",
    );
    assert.deepEqual(config.values, { "app:replicas": "3", "app:mode": "x" });
  });
});

describe("secretPlaceholder", () => {
  it("is deterministic, shaped like a 32-byte base64 key, and differs between stacks and keys", () => {
    const placeholder = secretPlaceholder("lab", "app:token");
    assert.equal(placeholder, secretPlaceholder("lab", "app:token"));
    assert.match(placeholder, /^[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(placeholder, secretPlaceholder("other", "app:token"));
    assert.notEqual(placeholder, secretPlaceholder("lab", "app:key"));
  });
});
