import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repositoryRoot } from "@infra/core";
import { type SynthReport, synthAndValidate } from "@tools/synth/src/report";
import { copySiteForSynth } from "@tools/synth/src/testing";
import { runTool } from "./testing/repository";

// A copy of what synth runs (servers/, the Pulumi workspace, the Terraform templates, the NixOS
// flake whose data the public gateway shares) that loads the repository's packages through its
// node_modules, so the programs read the copy's servers/.
const root = mkdtempSync(join(tmpdir(), "new-server-synth-"));
after(() => rmSync(root, { recursive: true, force: true }));

const name = "home-7";
let created: Awaited<ReturnType<typeof runTool>>;
let report: SynthReport;

before(async () => {
  copySiteForSynth(root);
  created = await runTool(root, [
    name,
    ...["--provider", "hcloud", "--server-type", "cx33", "--location", "hel1", "--yes"],
  ]);
  report = await synthAndValidate({
    projectsDir: join(root, "pulumi", "projects"),
    workspaceRoots: [join(root, "pulumi"), join(repositoryRoot, "pulumi")],
    outDir: join(root, "out"),
    validate: true,
    stacks: [name],
  });
});

describe("a server new-server describes", () => {
  it("synthesizes and validates at once, every layer it wrote a stack file for", () => {
    assert.equal(created.code, 0, created.err);
    assert.deepEqual(report.problems, []);
    const stack = report.stacks.find((candidate) => candidate.stack === name);
    assert.deepEqual(stack?.projects.map((project) => project.project).sort(), [
      "cert-manager",
      "cilium",
      "gateway-api",
      "internal-gateway",
      "monitoring",
      "public-gateway",
      "shared",
    ]);
  });

  it("gets its ranges from its description, and is among the servers whose routes the tailnet policy lists", () => {
    const result = report.results.find((candidate) => candidate.stack === name);
    const shared = result?.projects.find((project) => project.project === "shared");
    const network = shared?.outputs.network?.value as { clusterCidr: string; serviceCidr: string };
    assert.deepEqual(network, {
      clusterCidr: "10.48.0.0/16",
      serviceCidr: "10.49.0.0/16",
      clusterDnsIp: "10.49.0.10",
    });
    const servers = shared?.outputs.tailnetServers?.value as { name: string }[];
    assert.ok(servers.some((server) => server.name === name));
  });
});
