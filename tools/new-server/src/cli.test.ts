import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { copyRepository } from "./testing/repository";

const cli = join(__dirname, "cli.ts");

function runCli(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", cli, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

describe("the new-server command", () => {
  it("lists a flag for every value in its help", () => {
    const result = runCli(["--help"]);
    assert.equal(result.status, 0, result.stderr);
    for (const flag of [
      "--role",
      "--provider",
      "--no-public",
      "--server-type",
      "--mac-address",
      "--ssh-host",
      "--cluster-cidr",
      "--yes",
      "--remove",
      "--root",
    ]) {
      assert.ok(result.stdout.includes(flag), flag);
    }
  });

  it("creates a server with --yes and exits 1 with the reason on a refusal", () => {
    using repository = copyRepository();
    const flags = [
      "--provider",
      "digitalocean",
      "--size",
      "s-4vcpu-8gb",
      "--region",
      "fra1",
      "--yes",
      "--root",
      repository.root,
    ];
    const created = runCli(["cloud-9", ...flags]);
    assert.equal(created.status, 0, created.stderr);
    assert.ok(
      existsSync(join(repository.root, "terraform", "instances", "cloud-9", "generation.auto.tfvars")),
    );
    const again = runCli(["cloud-9", ...flags]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^new-server: cloud-9 exists/);
  });
});
