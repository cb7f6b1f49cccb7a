import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { k3sSecretKey } from "../../host-secrets/src/host-secrets";
import { K3S_TLS_FILES } from "../../host-secrets/src/k3s-ca";
import {
  cidrProblems,
  nixFiles,
  nixParseError,
  parseCidr,
  type ServerInstance,
  serverInstances,
} from "./nix";
import { REPO_ROOT, skipUnless, withTempDir } from "./repo";

const skip = skipUnless("nix-instantiate", "nix-bin");
const kubernetesModule = readFileSync(join(REPO_ROOT, "nixos", "modules", "kubernetes.nix"), "utf8");

function instance(name: string, clusterCidr: string, serviceCidr: string): ServerInstance {
  return { name, hostName: name, role: "cloud", clusterCidr, serviceCidr };
}

describe("Nix files", { skip }, () => {
  it("all parse", () => {
    const files = nixFiles();
    assert.ok(files.includes("nixos/flake.nix"));
    const errors = files
      .map((file) => [file, nixParseError(join(REPO_ROOT, file))])
      .filter(([, error]) => error);
    assert.deepEqual(errors, []);
  });

  it("are reported when they do not parse", () =>
    withTempDir((dir) => {
      writeFileSync(join(dir, "broken.nix"), "{ a = 1; b = ; }\n");
      assert.match(nixParseError(join(dir, "broken.nix")), /syntax error/);
    }));
});

describe("server instances", { skip }, () => {
  const instances = skip ? [] : serverInstances();

  it("exist for cloud-a, cloud-b and local-a", () => {
    assert.deepEqual(instances.map((server) => server.name).sort(), ["cloud-a", "cloud-b", "local-a"]);
  });

  it("each set the host name of their directory", () => {
    for (const server of instances) assert.equal(server.hostName, server.name);
  });

  it("each have a role the server module knows", () => {
    const roles =
      /options\.homelab\.role = lib\.mkOption \{\n\s+type = lib\.types\.enum \[([\s\S]*?)\];/.exec(
        readFileSync(join(REPO_ROOT, "nixos", "modules", "server.nix"), "utf8"),
      )?.[1];
    const known = [...(roles ?? "").matchAll(/^\s+"(\w+)"$/gm)].map((match) => match[1]);
    assert.deepEqual(known.sort(), ["cloud", "home"]);
    for (const server of instances)
      assert.ok(known.includes(String(server.role)), `${server.name}: ${server.role}`);
  });

  it("use the pod and service networks the Pulumi stacks rely on", () => {
    const networks = Object.fromEntries(instances.map((s) => [s.name, [s.clusterCidr, s.serviceCidr]]));
    assert.deepEqual(networks, {
      "cloud-a": ["10.42.0.0/16", "10.43.0.0/16"],
      "cloud-b": ["10.44.0.0/16", "10.45.0.0/16"],
      "local-a": ["10.46.0.0/16", "10.47.0.0/16"],
    });
  });

  it("have disjoint pod and service networks", () => {
    assert.deepEqual(cidrProblems(instances), []);
  });
});

describe("the CIDR check", () => {
  it("reads a network and rejects an address with host bits or a bad prefix", () => {
    assert.deepEqual(parseCidr("10.42.0.0/16"), { first: 0x0a2a0000, last: 0x0a2affff });
    assert.equal(parseCidr("10.42.0.1/16"), undefined);
    assert.equal(parseCidr("10.42.0.0/33"), undefined);
    assert.equal(parseCidr("10.420.0.0/16"), undefined);
  });

  it("reports two servers whose networks overlap", () => {
    const problems = cidrProblems([
      instance("a", "10.42.0.0/16", "10.43.0.0/16"),
      instance("b", "10.42.128.0/17", "10.45.0.0/16"),
    ]);
    assert.deepEqual(problems, ["a clusterCidr 10.42.0.0/16 overlaps b clusterCidr 10.42.128.0/17"]);
  });

  it("reports a server whose pod network contains its service network", () => {
    assert.equal(cidrProblems([instance("a", "10.0.0.0/8", "10.43.0.0/16")]).length, 1);
  });

  it("reports a malformed network", () => {
    assert.match(cidrProblems([instance("a", "10.42.0.0", "10.43.0.0/16")])[0] ?? "", /not an IPv4 network/);
  });
});

describe("the Kubernetes module", () => {
  for (const flag of [
    "--secrets-encryption",
    "--disable=traefik",
    "--disable=servicelb",
    "--disable-kube-proxy",
    "--flannel-backend=none",
    "--disable-network-policy",
    // Nix interpolations, looked up literally.
    `"--cluster-cidr=\${cfg.clusterCidr}"`,
    `"--service-cidr=\${cfg.serviceCidr}"`,
    `"--tls-san=\${config.networking.hostName}.\${cfg.tailnet}"`,
    "--kubelet-arg=allowed-unsafe-sysctls=",
    '"net.ipv4.ip_forward"',
    '"net.ipv4.conf.all.src_valid_mark"',
    '"net.ipv4.conf.all.rp_filter"',
  ]) {
    it(`gives k3s ${flag}`, () => {
      assert.ok(kubernetesModule.includes(flag));
    });
  }

  it("stores each tls file under the secret name tools/host-secrets gives it", { skip }, () => {
    const secretName = /secretName = (file: .*);$/m.exec(kubernetesModule)?.[1] ?? "";
    assert.notEqual(secretName, "", "secretName not found");
    for (const file of K3S_TLS_FILES) {
      const expression = `(${secretName}) ${JSON.stringify(file)}`;
      const result: SpawnSyncReturns<string> = spawnSync(
        "nix-instantiate",
        ["--eval", "--json", "-E", expression],
        {
          encoding: "utf8",
        },
      );
      assert.equal(JSON.parse(result.stdout), `k3s/${k3sSecretKey(file)}`, result.stderr);
    }
  });

  it("places exactly the tls files tools/host-secrets generates", () => {
    const list = /tlsFiles = \[([\s\S]*?)\];/.exec(kubernetesModule)?.[1] ?? "";
    const files = [...list.matchAll(/"([^"]+)"/g)].map((match) => match[1]);
    assert.deepEqual(files.sort(), [...K3S_TLS_FILES].sort());
  });
});
