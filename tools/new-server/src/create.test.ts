import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cidrsOverlap, readServers, repositoryRoot, serverSchema, tailnetRanges } from "@infra/core";
import { parse } from "yaml";
import { baseLayers, secretPlaceholder } from "./layers";
import { formatServerJson, writeAll } from "./repository";
import { copyRepository, runTool, scriptedAsk, snapshot } from "./testing/repository";

const proxmoxFlags = [
  "--provider",
  "proxmox",
  "--proxmox-endpoint",
  "https://pve.test.lan:8006/",
  "--node",
  "pve",
  "--datastore",
  "local-lvm",
  "--bridge",
  "vmbr0",
  "--mac-address",
  "BC:24:11:00:00:42",
  "--ip-address",
  "192.168.1.60",
];
const hcloudFlags = ["--provider", "hcloud", "--server-type", "cx33", "--location", "hel1"];

function readJson(root: string, path: string): unknown {
  return JSON.parse(readFileSync(join(root, path), "utf8"));
}

function stackFiles(root: string, stack: string): Record<string, { config: Record<string, unknown> }> {
  const projects = join(root, "pulumi", "projects");
  return Object.fromEntries(
    readdirSync(projects)
      .filter((project) => existsSync(join(projects, project, `Pulumi.${stack}.yaml`)))
      .map((project) => [
        project,
        parse(readFileSync(join(projects, project, `Pulumi.${stack}.yaml`), "utf8")),
      ]),
  );
}

describe("new-server", () => {
  it("describes a Proxmox VM given every flag: its description, a copy of the template and its layers' stack files", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const result = await runTool(root, ["home-1", ...proxmoxFlags, "--yes"]);
    assert.equal(result.code, 0, result.err);
    const description = readJson(root, "servers/home-1.json");
    assert.deepEqual(description, {
      $schema: "./server.schema.json",
      role: "home",
      provider: {
        kind: "proxmox",
        endpoint: "https://pve.test.lan:8006/",
        insecure: false,
        node: "pve",
        datastore: "local-lvm",
        bridge: "vmbr0",
        macAddress: "BC:24:11:00:00:42",
        ipAddress: "192.168.1.60",
      },
      reachableFromInternet: false,
      network: { clusterCidr: "10.48.0.0/16", serviceCidr: "10.49.0.0/16" },
    });
    assert.ok(serverSchema.safeParse(description).success);
    assert.deepEqual(readServers(join(root, "servers")).problems, []);

    const template = join(root, "terraform", "templates", "proxmox");
    const instance = join(root, "terraform", "instances", "home-1");
    for (const file of readdirSync(template)) {
      assert.equal(
        readFileSync(join(instance, file), "utf8"),
        readFileSync(join(template, file), "utf8"),
        file,
      );
    }
    const generation = readFileSync(join(instance, "generation.auto.tfvars"), "utf8");
    assert.match(generation, /^generation = 1$/m);
    assert.match(generation, /^installed_generation = 0$/m);

    const stacks = stackFiles(root, "home-1");
    assert.deepEqual(
      Object.keys(stacks).sort(),
      baseLayers
        .map((layer) => layer.project)
        .filter((project) => project !== "public-gateway")
        .sort(),
    );
    assert.deepEqual(stacks.shared?.config, {
      "shared:cloudflareApiToken": { secure: secretPlaceholder },
      "shared:tailscaleOauthClientSecret": { secure: secretPlaceholder },
    });
    assert.deepEqual(stacks["cert-manager"]?.config, {
      "cert-manager:cloudflareApiToken": { secure: secretPlaceholder },
    });
    assert.deepEqual(stacks["internal-gateway"]?.config, {
      "internal-gateway:servedNamespaces": ["monitoring"],
    });
    assert.deepEqual(stacks.cilium?.config, {});
  });

  it("writes the generation file every instance has, comments included", async () => {
    const instances = join(repositoryRoot, "terraform", "instances");
    const fresh = readdirSync(instances)
      .map((instance) => join(instances, instance, "generation.auto.tfvars"))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file, "utf8"))
      .find((text) => /^generation = 1$/m.test(text) && /^installed_generation = 0$/m.test(text));
    if (!fresh) return;
    using repository = copyRepository();
    assert.equal((await runTool(repository.root, ["home-1", ...proxmoxFlags, "--yes"])).code, 0);
    assert.equal(
      readFileSync(
        join(repository.root, "terraform", "instances", "home-1", "generation.auto.tfvars"),
        "utf8",
      ),
      fresh,
    );
  });

  it("makes a rented server a public cloud server by default, with the public gateway's stack file", async () => {
    using repository = copyRepository();
    const result = await runTool(repository.root, ["cloud-9", ...hcloudFlags, "--yes"]);
    assert.equal(result.code, 0, result.err);
    const description = readJson(repository.root, "servers/cloud-9.json") as Record<string, unknown>;
    assert.equal(description.role, "cloud");
    assert.equal(description.reachableFromInternet, true);
    assert.deepEqual(description.provider, { kind: "hcloud", serverType: "cx33", location: "hel1" });
    assert.deepEqual(stackFiles(repository.root, "cloud-9")["public-gateway"]?.config, {});
  });

  it("picks free ranges that overlap no server's and the tailnet's, also for two servers added one after the other", async () => {
    using repository = copyRepository();
    const { root } = repository;
    assert.equal((await runTool(root, ["cloud-9", ...hcloudFlags, "--yes"])).code, 0);
    assert.equal((await runTool(root, ["home-1", ...proxmoxFlags, "--yes"])).code, 0);
    const read = readServers(join(root, "servers"));
    assert.deepEqual(read.problems, []);
    const ranges = read.servers.flatMap((server) => [server.network.clusterCidr, server.network.serviceCidr]);
    for (const [index, range] of ranges.entries()) {
      assert.match(range, /^10\.\d+\.0\.0\/16$/);
      for (const other of [...ranges.slice(index + 1), ...tailnetRanges])
        assert.ok(!cidrsOverlap(range, other), `${range} ${other}`);
    }
  });

  it("takes given ranges, and refuses one that overlaps another server's, naming it, changing nothing", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const other = readServers(join(root, "servers")).servers[0];
    assert.ok(other);
    const before = snapshot(root);
    const refused = await runTool(root, [
      "home-1",
      ...proxmoxFlags,
      "--yes",
      "--service-cidr",
      other.network.serviceCidr,
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      new RegExp(`--service-cidr ${other.network.serviceCidr}: overlaps server ${other.name}`),
    );
    assert.deepEqual(snapshot(root), before);

    const given = await runTool(root, [
      "home-1",
      ...proxmoxFlags,
      "--yes",
      "--cluster-cidr",
      "10.100.0.0/16",
      "--service-cidr",
      "10.101.0.0/24",
    ]);
    assert.equal(given.code, 0, given.err);
    assert.deepEqual((readJson(root, "servers/home-1.json") as { network: unknown }).network, {
      clusterCidr: "10.100.0.0/16",
      serviceCidr: "10.101.0.0/24",
    });
  });

  it("refuses a name that is taken, is no DNS label, or is the site's, changing nothing", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const taken = readServers(join(root, "servers")).servers[0]?.name;
    assert.ok(taken);
    const before = snapshot(root);
    for (const [name, message] of [
      [taken, `${taken} exists \\(servers/${taken}.json`],
      ["Home_1", "expected a DNS label"],
      ["site", "servers/site.json is the site's description"],
    ] as const) {
      const result = await runTool(root, [name, ...hcloudFlags, "--yes"]);
      assert.equal(result.code, 1, name);
      assert.match(result.err, new RegExp(message));
    }
    assert.deepEqual(snapshot(root), before);
  });

  it("with --yes, fails naming the flag of a value that has no default, changing nothing", async () => {
    using repository = copyRepository();
    const before = snapshot(repository.root);
    const withoutNode = proxmoxFlags.filter(
      (flag, index) => flag !== "--node" && proxmoxFlags[index - 1] !== "--node",
    );
    const result = await runTool(repository.root, ["home-1", ...withoutNode, "--yes"]);
    assert.equal(result.code, 1);
    assert.match(result.err, /--node is required with --yes/);
    const noProvider = await runTool(repository.root, ["home-1", "--yes"]);
    assert.match(noProvider.err, /--provider is required with --yes/);
    assert.deepEqual(snapshot(repository.root), before);
  });

  it("without a terminal and without --yes, names the missing flag instead of assuming its default", async () => {
    using repository = copyRepository();
    const result = await runTool(repository.root, ["home-1", ...proxmoxFlags]);
    assert.equal(result.code, 1);
    assert.match(result.err, /--role is missing, and there is no terminal to ask/);
  });

  it("refuses a flag of another provider and a malformed value, naming the flag", async () => {
    using repository = copyRepository();
    const before = snapshot(repository.root);
    const other = await runTool(repository.root, ["home-1", ...proxmoxFlags, "--location", "hel1", "--yes"]);
    assert.match(other.err, /--location is for hcloud servers, not proxmox/);
    const malformed = await runTool(repository.root, [
      "home-1",
      ...proxmoxFlags.map((flag) => (flag === "BC:24:11:00:00:42" ? "bc:24:11:00:00:42" : flag)),
      "--yes",
    ]);
    assert.match(malformed.err, /--mac-address bc:24:11:00:00:42: expected an upper-case MAC address/);
    assert.deepEqual(snapshot(repository.root), before);
  });

  it("gives an existing machine no Terraform instance, and needs its role, which no provider implies", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const flags = [
      "--provider",
      "existing",
      "--internal-ip",
      "192.168.2.10",
      "--public-ip",
      "203.0.113.7",
      "--ssh-host",
      "192.168.2.10",
      "--ssh-user",
      "root",
    ];
    const noRole = await runTool(root, ["box-1", ...flags, "--yes"]);
    assert.match(noRole.err, /--role is required with --yes/);
    const result = await runTool(root, ["box-1", ...flags, "--role", "home", "--public", "--yes"]);
    assert.equal(result.code, 0, result.err);
    const description = readJson(root, "servers/box-1.json") as Record<string, unknown>;
    assert.deepEqual(description.provider, {
      kind: "existing",
      internalIp: "192.168.2.10",
      publicIp: "203.0.113.7",
      sshHost: "192.168.2.10",
      sshPort: 22,
      sshUser: "root",
    });
    assert.equal(description.reachableFromInternet, true);
    assert.ok(!existsSync(join(root, "terraform", "instances", "box-1")));
    assert.ok("public-gateway" in stackFiles(root, "box-1"));
    assert.match(result.out, /task servers:install HOST=box-1/);
  });

  it("prints what it created and every secret left to set, by stack, and the steps after", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const result = await runTool(root, ["home-1", ...proxmoxFlags, "--yes"]);
    assert.match(result.out, /^ {2}servers\/home-1\.json$/m);
    assert.match(result.out, /^ {2}terraform\/instances\/home-1\/ \(from terraform\/templates\/proxmox\)$/m);
    for (const [project, file] of Object.entries(stackFiles(root, "home-1"))) {
      assert.match(result.out, new RegExp(`pulumi/projects/${project}/Pulumi\\.home-1\\.yaml`));
      for (const [key, value] of Object.entries(file.config)) {
        if (typeof value !== "object" || value === null || !("secure" in value)) continue;
        assert.ok(
          result.out.includes(
            `pulumi -C pulumi/projects/${project} config set --secret ${key} <value> --stack home-1`,
          ),
          key,
        );
      }
    }
    for (const step of [
      "task servers:secrets HOST=home-1",
      "task servers:apply HOST=home-1",
      "./run synth --stack home-1",
      "pulumi/placement.yaml",
    ]) {
      assert.ok(result.out.includes(step), step);
    }
  });

  it("asks for what the flags leave out, offering the provider's role, the role's exposure and free ranges", async () => {
    using repository = copyRepository();
    const { root } = repository;
    const taken = readServers(join(root, "servers")).servers[0];
    assert.ok(taken);
    const { ask, asked } = scriptedAsk({
      "--provider": ["proxmox"],
      "--role": [undefined],
      "--public/--no-public": [undefined],
      "--proxmox-endpoint": ["not a url", "https://pve.test.lan:8006/"],
      "--proxmox-insecure": [true],
      "--node": ["pve"],
      "--datastore": ["local-lvm"],
      "--bridge": ["vmbr0"],
      "--mac-address": ["BC:24:11:00:00:42"],
      "--ip-address": ["192.168.1.60"],
      "--cluster-cidr": [taken.network.clusterCidr, undefined],
      "--service-cidr": [undefined],
    });
    const result = await runTool(root, ["home-1"], ask);
    assert.equal(result.code, 0, result.err);
    const byFlag = Object.fromEntries(asked.map((question) => [question.flag, question]));
    assert.deepEqual(byFlag["--provider"]?.choices, ["hcloud", "digitalocean", "proxmox", "existing"]);
    assert.equal(byFlag["--role"]?.default, "home");
    assert.equal(byFlag["--public/--no-public"]?.default, false);
    assert.equal(byFlag["--proxmox-insecure"]?.default, false);
    assert.equal(byFlag["--proxmox-endpoint"]?.rejected?.length, 1);
    assert.match(byFlag["--cluster-cidr"]?.rejected?.[0] ?? "", new RegExp(`overlaps server ${taken.name}`));
    assert.equal(byFlag["--cluster-cidr"]?.default, "10.48.0.0/16");
    assert.equal(byFlag["--service-cidr"]?.default, "10.49.0.0/16");
    const description = readJson(root, "servers/home-1.json") as {
      provider: { insecure: boolean };
      role: string;
    };
    assert.equal(description.provider.insecure, true);
    assert.equal(description.role, "home");
  });

  it("formats a description like the hand-written ones", () => {
    const dir = join(repositoryRoot, "servers");
    for (const file of readdirSync(dir).filter(
      (name) => name.endsWith(".json") && name !== "site.json" && !name.includes("schema"),
    )) {
      const text = readFileSync(join(dir, file), "utf8");
      assert.equal(formatServerJson(JSON.parse(text)), text, file);
    }
  });

  it("removes what it wrote when a write fails", () => {
    using repository = copyRepository();
    const before = snapshot(repository.root);
    assert.throws(() =>
      writeAll(repository.root, [
        { path: "servers/home-1.json", content: "{}\n" },
        { path: "terraform/instances/home-1/main.tf", content: "\n" },
        { path: "servers/home-1.json/impossible", content: "\n" },
      ]),
    );
    assert.deepEqual(snapshot(repository.root), before);
    assert.ok(!existsSync(join(repository.root, "terraform", "instances", "home-1")));
  });
});
