import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { k3sSecretKey } from "../../host-secrets/src/host-secrets";
import { K3S_TLS_FILES } from "../../host-secrets/src/k3s-ca";
import { flakeServers, nixFiles, nixParseError, parseCidr } from "./nix";
import { REPO_ROOT, skipUnless, withTempDir } from "./repo";
import { describedServers, unknownDescriptionFields } from "./servers";

const skip = skipUnless("nix-instantiate", "nix-bin");
const kubernetesModule = readFileSync(join(REPO_ROOT, "nixos", "modules", "kubernetes.nix"), "utf8");

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

describe("the flake's servers", { skip }, () => {
  const { servers: described, problems } = describedServers();
  const servers = skip ? [] : flakeServers();

  it("come from valid descriptions", () => {
    assert.deepEqual(problems, []);
    assert.ok(described.length > 0, "no servers/<name>.json");
  });

  it("are one per description in servers/, named after its file", () => {
    const files = readdirSync(join(REPO_ROOT, "servers"))
      .filter((file) => file.endsWith(".json") && file !== "site.json" && !file.endsWith(".schema.json"))
      .map((file) => file.replace(/\.json$/, ""));
    assert.deepEqual(servers.map((server) => server.name).sort(), files.sort());
  });

  it("take host name, role, reachability and networks from their descriptions", () => {
    for (const description of described) {
      assert.deepEqual(
        servers.find((server) => server.name === description.name),
        {
          name: description.name,
          hostName: description.name,
          role: description.role,
          reachableFromInternet: description.reachableFromInternet,
          clusterCidr: description.network.clusterCidr,
          serviceCidr: description.network.serviceCidr,
          extras: existsSync(join(REPO_ROOT, "nixos", "instances", description.name)) ? 1 : 0,
        },
        description.name,
      );
    }
  });

  it("each have a role the server module knows", () => {
    const roles =
      /options\.homelab\.role = lib\.mkOption \{\n\s+type = lib\.types\.enum \[([\s\S]*?)\];/.exec(
        readFileSync(join(REPO_ROOT, "nixos", "modules", "server.nix"), "utf8"),
      )?.[1];
    const known = [...(roles ?? "").matchAll(/^\s+"(\w+)"$/gm)].map((match) => match[1]);
    assert.deepEqual(known.sort(), ["cloud", "home"]);
    for (const server of servers) assert.ok(known.includes(server.role), `${server.name}: ${server.role}`);
  });
});

describe("the NixOS modules' site settings", () => {
  const read = ["server.nix", "kubernetes.nix", "firewall.nix"].flatMap((file) =>
    [
      ...readFileSync(join(REPO_ROOT, "nixos", "modules", file), "utf8").matchAll(
        /(?<![/\w])site\.([\w.]+)/g,
      ),
    ].map((match) => `site.${match[1]}`),
  );

  it("are fields servers/site.json has", () => {
    assert.ok(read.includes("site.admin.sshPort"), read.join(", "));
    assert.deepEqual(unknownDescriptionFields(read, "none"), []);
  });

  it("would be reported under a name the schema does not know", () => {
    assert.deepEqual(unknownDescriptionFields(["site.sshPort", "site.admin.user"], "none"), ["site.sshPort"]);
  });
});

describe("the flake, reading servers/ in another repository,", { skip }, () => {
  /** A repository holding the real flake and `files`. */
  const withLayout = (files: Record<string, string>, body: (dir: string) => void) =>
    withTempDir((dir) => {
      const flake = Object.fromEntries(
        ["flake.nix", "servers.nix"].map((file) => [
          `nixos/${file}`,
          readFileSync(join(REPO_ROOT, "nixos", file), "utf8"),
        ]),
      );
      const all = { ...flake, ...files };
      for (const [file, content] of Object.entries(all)) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), content);
      }
      body(dir);
    });
  const description = (clusterCidr: string) =>
    JSON.stringify({
      role: "home",
      reachableFromInternet: false,
      network: { clusterCidr, serviceCidr: "10.9.0.0/16" },
    });

  it("skips the site, the JSON schemas and other files, and adds instances/<name> only where it exists", () =>
    withLayout(
      {
        "servers/site.json": "{}",
        "servers/server.schema.json": "{}",
        "servers/site.schema.json": "{}",
        "servers/notes.txt": "",
        "servers/home-1.json": description("10.8.0.0/16"),
        "servers/home-2.json": description("10.7.0.0/16"),
        "nixos/instances/home-2/default.nix": "{ }\n",
        "nixos/instances/README.md": "",
      },
      (dir) => {
        assert.deepEqual(
          flakeServers(dir).map(({ name, hostName, clusterCidr, extras }) => ({
            name,
            hostName,
            clusterCidr,
            extras,
          })),
          [
            { name: "home-1", hostName: "home-1", clusterCidr: "10.8.0.0/16", extras: 0 },
            { name: "home-2", hostName: "home-2", clusterCidr: "10.7.0.0/16", extras: 1 },
          ],
        );
      },
    ));

  it("fails on a description without the networks the configuration needs", () =>
    withLayout(
      { "servers/home-1.json": JSON.stringify({ role: "home", reachableFromInternet: false }) },
      (dir) => {
        assert.throws(() => flakeServers(dir), /network/);
      },
    ));
});

describe("the CIDR parser", () => {
  it("reads a network and rejects an address with host bits or a bad prefix", () => {
    assert.deepEqual(parseCidr("10.42.0.0/16"), { first: 0x0a2a0000, last: 0x0a2affff });
    assert.equal(parseCidr("10.42.0.1/16"), undefined);
    assert.equal(parseCidr("10.42.0.0/33"), undefined);
    assert.equal(parseCidr("10.420.0.0/16"), undefined);
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
