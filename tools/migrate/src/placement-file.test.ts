import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { placementPath, repositoryRoot } from "@infra/core";
import { PlacementFile } from "./placement-file";

/** A copy of the repository's placement file, to change. */
function copy(): PlacementFile {
  const path = join(mkdtempSync(join(tmpdir(), "placement-file-")), "placement.yaml");
  copyFileSync(join(repositoryRoot, placementPath), path);
  return new PlacementFile(path);
}

const migration = {
  to: "cloud-b",
  done: "stop" as const,
  dns: "source" as const,
  started: "2026-12-03T10:00:00.000Z",
};

describe("the placement file as a migration keeps it", () => {
  it("records a migration's progress under the app and keeps the file's comments and other apps", () => {
    const file = copy();
    const before = readFileSync(file.path, "utf8");
    file.write("vaultwarden", "cloud-a", migration);
    assert.deepEqual(file.entry("vaultwarden"), { server: "cloud-a", migration });
    assert.equal(file.entry("n8n").server, "local-a");
    const text = readFileSync(file.path, "utf8");
    for (const comment of before.split("\n").filter((line) => line.startsWith("#"))) {
      assert.ok(text.includes(comment), `lost: ${comment}`);
    }
  });

  it("ends a migration as one line naming the new server", () => {
    const file = copy();
    file.write("vaultwarden", "cloud-a", migration);
    file.write("vaultwarden", "cloud-b");
    assert.deepEqual(file.entry("vaultwarden"), { server: "cloud-b" });
    assert.match(readFileSync(file.path, "utf8"), /^ {2}vaultwarden: cloud-b$/m);
  });

  it("never writes a placement that programs would reject", () => {
    const file = copy();
    const before = readFileSync(file.path, "utf8");
    assert.throws(
      () => file.write("vaultwarden", "cloud-a", { ...migration, to: "cloud-a" }),
      /migrates to its own server/,
    );
    assert.equal(readFileSync(file.path, "utf8"), before);
  });

  it("names the apps it has when asked for one it does not place", () => {
    assert.throws(() => copy().entry("photos"), /places no app "photos"; apps: vaultwarden, /);
  });
});
