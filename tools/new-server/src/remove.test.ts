import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { copyRepository, runTool, snapshot } from "./testing/repository";

const hcloudFlags = ["--provider", "hcloud", "--server-type", "cx33", "--location", "hel1", "--yes"];
const statePath = (root: string, name: string) =>
  join(root, "terraform", "instances", name, "terraform.tfstate");

describe("new-server --remove", () => {
  it("removes the description, the Terraform instance and the stack files it created, and nothing else", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const before = snapshot(root);
    assert.equal((await runTool(root, ["cloud-9", ...hcloudFlags])).code, 0);
    const result = await runTool(root, ["--remove", "cloud-9"]);
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(snapshot(root), before);
    assert.match(result.out, /^ {2}servers\/cloud-9\.json$/m);
    assert.match(result.out, /^ {2}pulumi\/projects\/shared\/Pulumi\.cloud-9\.yaml$/m);
  });

  it("refuses while the placement puts an app on the server, changing nothing", async () => {
    using repository = copyRepository();
    const { root } = repository;
    assert.equal((await runTool(root, ["cloud-9", ...hcloudFlags])).code, 0);
    const placement = join(root, "pulumi", "placement.yaml");
    writeFileSync(placement, `${readFileSync(placement, "utf8")}  notes-test: cloud-9\n`);
    const before = snapshot(root);
    const result = await runTool(root, ["--remove", "cloud-9"]);
    assert.equal(result.code, 1);
    assert.match(result.err, /places notes-test on it/);
    assert.deepEqual(snapshot(root), before);
  });

  it("refuses while its Terraform state records a machine, and removes it once the state is empty", async () => {
    using repository = copyRepository();
    const { root } = repository;
    assert.equal((await runTool(root, ["cloud-9", ...hcloudFlags])).code, 0);
    writeFileSync(
      statePath(root, "cloud-9"),
      JSON.stringify({ version: 4, resources: [{ type: "hcloud_server" }] }),
    );
    const before = snapshot(root);
    const live = await runTool(root, ["--remove", "cloud-9"]);
    assert.equal(live.code, 1);
    assert.match(live.err, /records a live server: destroy it first \(task servers:destroy HOST=cloud-9\)/);
    assert.deepEqual(snapshot(root), before);

    writeFileSync(statePath(root, "cloud-9"), JSON.stringify({ version: 4, resources: [] }));
    assert.equal((await runTool(root, ["--remove", "cloud-9"])).code, 0);
  });

  it("refuses the server that owns the tailnet's policy, changing nothing", async () => {
    using repository = copyRepository();
    const { root } = repository;
    assert.equal((await runTool(root, ["cloud-9", ...hcloudFlags])).code, 0);
    const site = join(root, "servers", "site.json");
    const description = JSON.parse(readFileSync(site, "utf8"));
    description.tailnet.policyOwner = "cloud-9";
    writeFileSync(site, JSON.stringify(description));
    const before = snapshot(root);
    const result = await runTool(root, ["--remove", "cloud-9"]);
    assert.equal(result.code, 1);
    assert.match(result.err, /owns the tailnet's policy/);
    assert.deepEqual(snapshot(root), before);
  });

  it("refuses a server that does not exist", async () => {
    using repository = copyRepository();
    const result = await runTool(repository.root, ["--remove", "nowhere-1"]);
    assert.equal(result.code, 1);
    assert.match(result.err, /nowhere-1: no such server/);
  });
});
