import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readServers, repositoryRoot } from "@infra/core";
import { headscalePolicySchema } from "@infra/headscale";
import { tailnetDestinations } from "@projects/common";
import { type SynthReport, synthAndValidate } from "@tools/synth/src/report";
import type { ProjectSynth } from "@tools/synth/src/synth";
import { copySiteForSynth } from "@tools/synth/src/testing";
import { parse, stringify } from "yaml";

// A copy of what synth runs (servers/, the Pulumi workspace, the NixOS flake and Terraform
// templates the layers read) whose servers/site.json configures Headscale on cloud-a, with the
// placement and the headscale stack file such a site has. It loads the repository's packages
// through its node_modules, so the programs read the copy's servers/ and stack files.
const root = mkdtempSync(join(tmpdir(), "headscale-synth-"));
after(() => rmSync(root, { recursive: true, force: true }));
const stack = "cloud-a";
let report: SynthReport;

/** Places Headscale on `server` in a placement file of the copy's, which the programs read. */
function placeHeadscale(server: string): void {
  const placement = parse(readFileSync(join(repositoryRoot, "pulumi", "placement.yaml"), "utf8"));
  placement.apps.headscale = server;
  const placementFile = join(root, "placement.yaml");
  writeFileSync(placementFile, stringify(placement));
  process.env.HOMELAB_PLACEMENT = placementFile;
}

function headscaleSite(): void {
  const path = join(root, "servers", "site.json");
  const site = JSON.parse(readFileSync(path, "utf8"));
  site.tailnet.headscale = { server: stack };
  writeFileSync(path, `${JSON.stringify(site, null, 2)}\n`);

  placeHeadscale(stack);
  // Nothing is managed at Tailscale, so no server's stack holds its OAuth secret; the operator's
  // API key is set (the bootstrap's last step), so the routers and relays log in to Headscale.
  for (const server of readServers(join(root, "servers")).servers.map((each) => each.name)) {
    const sharedFile = join(root, "pulumi", "projects", "shared", `Pulumi.${server}.yaml`);
    const shared = parse(readFileSync(sharedFile, "utf8"));
    delete shared.config["shared:tailscaleOauthClientSecret"];
    shared.config["shared:headscaleApiKey"] = { secure: "v1:EXAMPLE-replace-with-pulumi-config-set-secret" };
    writeFileSync(sharedFile, stringify(shared));
  }
  // The policy moves to the headscale project, which applies it (below).
  const gatewayFile = join(root, "pulumi", "projects", "internal-gateway", `Pulumi.${stack}.yaml`);
  const gateway = parse(readFileSync(gatewayFile, "utf8"));
  delete gateway.config["internal-gateway:tailnetPolicy"];
  writeFileSync(gatewayFile, stringify(gateway));
  writeFileSync(
    join(root, "pulumi", "projects", "headscale", `Pulumi.${stack}.yaml`),
    stringify({
      config: {
        "headscale:tailnetPolicy": {
          tagOwners: ["group:admins"],
          admins: { group: "group:admins", members: ["alice@"] },
          exitNodeTags: ["tag:vpn-relay"],
        },
      },
    }),
  );
}

before(async () => {
  copySiteForSynth(root);
  headscaleSite();
  report = await synthHeadscale("out");
});

function synthHeadscale(out: string): Promise<SynthReport> {
  return synthAndValidate({
    projectsDir: join(root, "pulumi", "projects"),
    workspaceRoots: [join(root, "pulumi"), join(repositoryRoot, "pulumi")],
    outDir: join(root, out),
    validate: true,
    stacks: [stack],
    projects: ["headscale", "internal-gateway", "vpn"],
  });
}
after(() => {
  delete process.env.HOMELAB_PLACEMENT;
});

function headscale(): ProjectSynth {
  const run = report.results
    .find((result) => result.stack === stack)
    ?.projects.find((project) => project.project === "headscale");
  assert.ok(run, "headscale did not run");
  return run;
}

/** The Kubernetes object the headscale project rendered, as synth wrote it. */
function manifest(kind: string, name: string): Record<string, any> {
  const objects = readFileSync(join(root, "out", stack, "headscale", "manifests.yaml"), "utf8")
    .split(/^---$/m)
    .map((document) => parse(document))
    .filter(Boolean);
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found;
}

describe("a site configured for Headscale", () => {
  it("synthesizes and validates the headscale project with what it reads", () => {
    assert.deepEqual(report.problems, []);
  });

  it("renders no Tailscale-service resource and no Tailscale provider in any project of the stack", () => {
    const ran = report.results.flatMap((result) => result.projects.map((run) => run.project));
    for (const project of ["headscale", "internal-gateway", "vpn", "shared"])
      assert.ok(ran.includes(project), project);
    for (const result of report.results) {
      for (const run of result.projects) {
        const types = run.resources.map((resource) => resource.type);
        assert.deepEqual(
          types.filter((type) => type.startsWith("tailscale:") || type === "pulumi:providers:tailscale"),
          [],
          `${result.stack}/${run.project}`,
        );
      }
    }
  });

  it("gives the subnet router and each relay a pre-auth key made by Headscale, for its own tag", () => {
    const keys = report.results
      .flatMap((result) => result.projects)
      .flatMap((run) =>
        run.resources.filter((resource) => resource.type === "pulumi-nodejs:dynamic/headscale:PreAuthKey"),
      )
      .map((resource) => ({ name: resource.name, tags: (resource.inputs as { tags?: unknown }).tags }));
    assert.ok(
      keys.some((key) => JSON.stringify(key.tags) === JSON.stringify([`tag:k8s-router-${stack}`])),
      JSON.stringify(keys),
    );
    assert.ok(
      keys.some((key) => JSON.stringify(key.tags) === JSON.stringify(["tag:vpn-relay"])),
      JSON.stringify(keys),
    );
  });

  it("renders Headscale with no Tailscale-service resource and no Tailscale provider", () => {
    const types = headscale().resources.map((resource) => resource.type);
    assert.ok(types.includes("kubernetes:apps/v1:Deployment"));
    assert.deepEqual(
      types.filter((type) => type.startsWith("tailscale:") || type === "pulumi:providers:tailscale"),
      [],
    );
  });

  it("points Headscale at its login URL and keeps everything off Tailscale's service", () => {
    const config = parse(manifest("ConfigMap", "headscale-config").data["config.yaml"]);
    assert.equal(config.server_url, "https://headscale.example.com:8443");
    assert.equal(config.listen_addr, "0.0.0.0:8443");
    assert.deepEqual(config.derp.urls, []);
    assert.equal(config.derp.server.enabled, true);
    assert.equal(config.dns.base_domain, "tailnet.internal.example.com");
    assert.equal(config.policy.mode, "file");
  });

  it("applies the policy of every server's router in Headscale's format", () => {
    const policy = JSON.parse(manifest("ConfigMap", "headscale-policy").data["policy.json"]);
    assert.ok(headscalePolicySchema.safeParse(policy).success);
    const expected = Object.fromEntries(
      readServers(join(root, "servers")).servers.flatMap((server) =>
        tailnetDestinations(server.network.serviceCidr).map((destination) => [
          destination.route,
          [`tag:k8s-router-${server.name}`],
        ]),
      ),
    );
    assert.deepEqual(policy.autoApprovers.routes, expected);
    assert.deepEqual(policy.autoApprovers.exitNode, ["tag:vpn-relay"]);
  });

  it("serves every server's private names as sorted A records, from the file Headscale watches", () => {
    assert.deepEqual(Object.keys(manifest("Secret", "headscale-dns").stringData), ["extra-records.json"]);
    const records = JSON.parse(String(headscale().outputs.extraRecords?.value));
    assert.ok(records.length > 0);
    const names = records.map((record: { name: string }) => record.name);
    assert.deepEqual(names, [...names].sort());
    for (const record of records) {
      assert.equal(record.type, "A");
      assert.match(record.name, /\.internal\.example\.com$/);
    }
  });

  it("is public on the server's address through a DNS-only record, its own port and STUN", () => {
    const record = headscale().resources.find(
      (resource) => resource.type === "cloudflare:index/dnsRecord:DnsRecord",
    );
    assert.equal(record?.inputs.name, "headscale.example.com");
    assert.equal(record?.inputs.proxied, false);
    const service = manifest("Service", "headscale-public");
    assert.equal(service.spec.type, "LoadBalancer");
    assert.deepEqual(
      service.spec.ports.map((port: { port: number; protocol: string }) => `${port.port}/${port.protocol}`),
      ["8443/TCP", "3478/UDP"],
    );
    const policy = manifest("CiliumNetworkPolicy", "headscale-clients");
    assert.deepEqual(policy.spec.ingress[0].fromEntities, ["world"]);
  });

  it("exports the URL its clients log in to", () => {
    assert.equal(headscale().outputs.url?.value, "https://headscale.example.com:8443");
  });
});

describe("a site whose placement and servers/site.json disagree on Headscale's server", () => {
  it("fails, naming both, rather than running Headscale where the clients do not look for it", async () => {
    placeHeadscale("cloud-b");
    try {
      const mismatch = await synthHeadscale("out-mismatch");
      assert.ok(
        mismatch.problems.some((problem) =>
          problem.includes(
            "servers/site.json names cloud-a as tailnet.headscale.server, but pulumi/placement.yaml does not place headscale on cloud-a",
          ),
        ),
        mismatch.problems.join("\n"),
      );
    } finally {
      placeHeadscale(stack);
    }
  });
});
