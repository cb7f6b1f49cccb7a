import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { readServers } from "@infra/core";

const repoRoot = resolve(__dirname, "..", "..", "..");
const [stack] = readServers().servers.map((server) => server.name);

/** `./run layer-order` as the Taskfile runs it (task up:all, task up). */
function layerOrder(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", resolve(__dirname, "layer-order.ts"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
  });
}

describe("the layer order task up deploys by", () => {
  it("refuses a stack that still holds example values before a deployment, listing each with its file", () => {
    const result = layerOrder([stack ?? "", "--deploy"]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`Stack "${stack}" is not ready to deploy`));
    assert.match(result.stderr, /not deployable: servers\/site\.json:\d+: domain is an example value/);
    assert.match(
      result.stderr,
      new RegExp(
        `not deployable: pulumi/projects/shared/Pulumi\\.${stack}\\.yaml:\\d+: shared:cloudflareApiToken is a placeholder secret`,
      ),
    );
    assert.equal(result.stdout, "");
  });

  it("prints the layers of the same stack for the offline commands, which take example values", () => {
    const result = layerOrder([stack ?? ""]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^shared cilium /);
  });
});
