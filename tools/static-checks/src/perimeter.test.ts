import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "@cdktf/hcl2json";
import { flakeServers } from "./nix";
import {
  type AcceptRule,
  CLOUDFLARE_RANGES_FILE,
  cidrFamilyProblems,
  cloudflareRanges,
  type HostFirewall,
  hostFirewall,
  type PerimeterInputs,
  PROVIDER_FIREWALLS,
  type ProviderRule,
  parseAcceptRules,
  providerFirewallProblems,
  providerFirewalls,
  reachableByDefault,
  TEMPLATE_LOCALS,
  templateHeadscalePorts,
} from "./perimeter";
import { commandExists, REPO_ROOT, repoFiles, skipUnless } from "./repo";
import { describedServers } from "./servers";
import { INSTANCES_DIR, parseHcl, subdirectories, TEMPLATES_DIR } from "./terraform";

const skipNix = skipUnless("nix-instantiate", "nix-bin");
const skipTerraform = commandExists("terraform") ? false : "no terraform binary on this machine";
const { site: described, servers: descriptions } = describedServers();
const sshPort = described?.admin.sshPort;
const cloudflare = cloudflareRanges();
const readRepo = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

/** The rules that let Cloudflare's pinned ranges reach 80 and 443. */
const fromCloudflare = [
  ...cloudflare.ipv4Cidrs.map((cidr) => ({ command: "iptables", cidr })),
  ...cloudflare.ipv6Cidrs.map((cidr) => ({ command: "ip6tables", cidr })),
].map(({ command, cidr }) => ({ command, source: cidr, protocol: "tcp", ports: [80, 443] }));

/** Headscale's STUN port (its embedded DERP, pulumi/packages/headscale). */
const STUN = 3478;

/** The host rules that let anyone reach Headscale's port and STUN, where it runs (port not null). */
const headscaleFromAnywhere = (port: number | null): AcceptRule[] =>
  port === null
    ? []
    : (["iptables", "ip6tables"] as const).flatMap((command) => [
        { command, protocol: "tcp", ports: [port] },
        { command, protocol: "udp", ports: [STUN] },
      ]);

/**
 * The sites the perimeter is checked for: the example (no Headscale), and copies of its servers/ (and
 * of the files that read them) with a Headscale on one server, at the default port and at another.
 */
interface CheckedSite {
  label: string;
  root: string;
  headscale?: { server: string; port: number };
}
const headscaleRoots: string[] = [];
function headscaleSite(headscale: { server: string; port?: number; hostname?: string }): CheckedSite {
  const root = mkdtempSync(join(tmpdir(), "perimeter-headscale-"));
  headscaleRoots.push(root);
  for (const path of [
    "servers",
    "nixos/servers.nix",
    "nixos/modules/firewall-rules.nix",
    CLOUDFLARE_RANGES_FILE,
    "terraform/templates",
  ]) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    cpSync(join(REPO_ROOT, path), join(root, path), { recursive: true });
  }
  const site = JSON.parse(readFileSync(join(root, "servers", "site.json"), "utf8"));
  site.tailnet.headscale = headscale;
  writeFileSync(join(root, "servers", "site.json"), JSON.stringify(site, null, 2));
  return {
    label: `a site whose Headscale runs on ${headscale.server}${headscale.port ? ` at ${headscale.port}` : ""}`,
    root,
    headscale: { server: headscale.server, port: headscale.port ?? 8443 },
  };
}
const sites: CheckedSite[] = [
  { label: "the example site (no Headscale)", root: REPO_ROOT },
  headscaleSite({ server: "cloud-b" }),
  headscaleSite({ server: "local-a", port: 9443, hostname: "hs.example.com" }),
];
after(() => {
  for (const root of headscaleRoots) rmSync(root, { recursive: true, force: true });
});
/** The Headscale port a server of a site should admit from anywhere, or null. */
const headscalePortOn = (site: CheckedSite, server: string) =>
  site.headscale?.server === server ? site.headscale.port : null;

/** The ports a list of accept rules opens, sorted. */
const ports = (rules: AcceptRule[]) =>
  [...new Set(rules.flatMap((rule) => rule.ports))].sort((a, b) => a - b);

describe("the pinned Cloudflare ranges", () => {
  it("are IPv4 and IPv6 networks, none with host bits set", () => {
    assert.ok(cloudflare.ipv4Cidrs.length > 0 && cloudflare.ipv6Cidrs.length > 0);
    assert.deepEqual(
      [
        ...cidrFamilyProblems("ipv4", cloudflare.ipv4Cidrs),
        ...cidrFamilyProblems("ipv6", cloudflare.ipv6Cidrs),
      ],
      [],
    );
  });

  it("are the ones synth answers Cloudflare's API with", () => {
    const synth = JSON.parse(
      readRepo("tools/synth/example-data/cloudflare-ip-ranges.json"),
    ) as typeof cloudflare;
    assert.deepEqual([synth.ipv4Cidrs, synth.ipv6Cidrs], [cloudflare.ipv4Cidrs, cloudflare.ipv6Cidrs]);
  });

  it("are checked: an address with host bits, a network of the other family and a non-CIDR are reported", () => {
    assert.deepEqual(cidrFamilyProblems("ipv4", ["10.0.0.1/8", "2400:cb00::/32", "10.0.0.0/8"]), [
      "10.0.0.1/8 is not an ipv4 network",
      "2400:cb00::/32 is not an ipv4 network",
    ]);
    assert.deepEqual(cidrFamilyProblems("ipv6", ["2400:cb00::1/32", "2a06:98c0::/29", "nothing"]), [
      "2400:cb00::1/32 is not an ipv6 network",
      "nothing is not an ipv6 network",
    ]);
  });
});

describe("the host firewall", { skip: skipNix }, () => {
  const servers = skipNix ? [] : flakeServers();

  for (const site of sites) {
    for (const server of servers) {
      const headscalePort = headscalePortOn(site, server.name);
      describe(`of ${server.name}, on ${site.label}`, () => {
        let reachable = false;
        let evaluatedPort: number | null = null;
        let firewall: HostFirewall = {
          allowedTCPPorts: [],
          allowedUDPPorts: [],
          interfaces: {},
          extraCommands: "",
        };
        let rules: AcceptRule[] = [];
        before(() => {
          ({
            reachableFromInternet: reachable,
            headscalePort: evaluatedPort,
            firewall,
          } = hostFirewall(server.name, { root: site.root }));
          rules = parseAcceptRules(firewall.extraCommands);
        });

        it("opens no TCP port to the whole internet but Headscale's, on its server only", () => {
          assert.equal(evaluatedPort, headscalePort);
          assert.deepEqual(firewall.allowedTCPPorts, []);
          assert.deepEqual(
            rules.filter(
              (rule) => rule.protocol === "tcp" && rule.interface === undefined && rule.source === undefined,
            ),
            headscaleFromAnywhere(headscalePort).filter((rule) => rule.protocol === "tcp"),
          );
        });

        it("admits from anywhere exactly Headscale's port and STUN, on IPv4 and IPv6, on its server only", () => {
          assert.deepEqual(
            rules.filter((rule) => rule.interface === undefined && rule.source === undefined),
            headscaleFromAnywhere(headscalePort),
          );
        });

        it("takes SSH and the Kubernetes API on the tailnet interface and nowhere else there", () => {
          assert.deepEqual(Object.keys(firewall.interfaces), ["tailscale0"]);
          assert.deepEqual(firewall.interfaces.tailscale0?.allowedTCPPorts, [sshPort, 6443]);
          assert.ok(!ports(rules).includes(sshPort ?? 0), "SSH appears in extraCommands");
        });

        it("lets pods reach only the API server, the kubelet and Hubble, from pod addresses on Cilium's interfaces", () => {
          const fromPods = rules.filter((rule) => rule.interface !== undefined);
          const expected = ["lxc+", "cilium_host"].flatMap((iface) =>
            [6443, 10250, 4244].map((port) => ({
              command: "iptables",
              interface: iface,
              source: server.clusterCidr,
              protocol: "tcp",
              ports: [port],
            })),
          );
          assert.deepEqual(fromPods, expected);
        });

        it("admits UDP only on Tailscale's port, and Headscale's STUN on its server only, from anywhere", () => {
          assert.deepEqual(firewall.allowedUDPPorts, [41641]);
          assert.deepEqual(
            rules.filter((rule) => rule.protocol !== "tcp"),
            headscaleFromAnywhere(headscalePort).filter((rule) => rule.protocol !== "tcp"),
          );
        });

        it(`is reachable from the internet exactly as its description says, on 80 and 443 from exactly Cloudflare's pinned ranges`, () => {
          assert.equal(reachable, server.reachableFromInternet);
          assert.deepEqual(
            rules.filter((rule) => rule.interface === undefined && rule.source !== undefined),
            reachable ? fromCloudflare : [],
          );
        });

        it("keeps 80 and 443 closed when the server is not reachable from the internet", () => {
          const closed = parseAcceptRules(
            hostFirewall(server.name, { reachableFromInternet: false, root: site.root }).firewall
              .extraCommands,
          );
          assert.deepEqual(
            closed.filter((rule) => rule.interface === undefined),
            headscaleFromAnywhere(headscalePort),
          );
        });
      });
    }
  }

  it("makes a server reachable from the internet by default for the cloud role only", () => {
    assert.deepEqual(
      ["cloud", "home"].map((role) => reachableByDefault(role)),
      [true, false],
    );
  });
});

describe("the NixOS modules", () => {
  const firewallModule = readRepo("nixos/modules/firewall.nix");

  it("hand firewall-rules.nix's result to networking.firewall, on iptables", () => {
    assert.match(
      firewallModule,
      /networking\.firewall = \{\n\s+enable = true;\n\s+\}\n\s+\/\/ rules\.firewall \{/,
    );
    assert.match(firewallModule, /networking\.nftables\.enable = false;/);
    assert.match(firewallModule, /default = rules\.reachableByDefault config\.homelab\.role;/);
  });

  it("keep openssh and tailscale from opening their ports to the world", () => {
    assert.match(firewallModule, /services\.openssh\.openFirewall = false;/);
    assert.match(firewallModule, /services\.tailscale\.openFirewall = false;/);
  });

  it("open firewall ports nowhere but in firewall-rules.nix", () => {
    const others = repoFiles()
      .filter((file) => file.startsWith("nixos/") && file.endsWith(".nix"))
      .filter((file) => file !== "nixos/modules/firewall-rules.nix")
      .filter((file) =>
        /(allowed(TCP|UDP)Port\w*|extraCommands|trustedInterfaces)\s*=(?!=)|openFirewall\s*=\s*true/.test(
          readRepo(file),
        ),
      );
    assert.deepEqual(others, []);
  });

  it("fail the build of a server whose other modules open a TCP port to the world", () => {
    assert.match(firewallModule, /assertion =\n\s+config\.networking\.firewall\.allowedTCPPorts == \[ \]/);
  });
});

describe("reading the host firewall's rules back", () => {
  it("takes interface, source, protocol and ports", () => {
    assert.deepEqual(
      parseAcceptRules(
        "iptables -w -A nixos-fw -i lxc+ -s 10.42.0.0/16 -p tcp --dport 6443 -j nixos-fw-accept\n" +
          "ip6tables -w -A nixos-fw -s 2400:cb00::/32 -p tcp -m multiport --dports 80,443 -j nixos-fw-accept\n",
      ),
      [
        { command: "iptables", interface: "lxc+", source: "10.42.0.0/16", protocol: "tcp", ports: [6443] },
        { command: "ip6tables", source: "2400:cb00::/32", protocol: "tcp", ports: [80, 443] },
      ],
    );
  });

  it("refuses a rule it does not understand rather than skipping it", () => {
    assert.throws(() => parseAcceptRules("iptables -w -I INPUT -j ACCEPT"), /unexpected -I INPUT/);
    assert.throws(
      () => parseAcceptRules("iptables -w -A nixos-fw -s 10.0.0.0/8 -j nixos-fw-accept"),
      /not an accept rule/,
    );
    assert.throws(() => parseAcceptRules("nft add rule inet filter input accept"), /not an iptables rule/);
  });
});

const INSTALLING: PerimeterInputs = {
  generation: 2,
  installed_generation: 1,
  install_ssh_port: 22,
  public_gateway: true,
};

describe("the provider firewall", { skip: skipTerraform }, () => {
  let rendered: Record<string, ProviderRule[]> = {};
  before(async () => {
    rendered = await providerFirewalls({
      installingGateway: INSTALLING,
      installedGateway: { ...INSTALLING, installed_generation: 2 },
      installingHome: { ...INSTALLING, public_gateway: false },
      installedHome: { ...INSTALLING, installed_generation: 2, public_gateway: false },
    });
  });
  const anywhere = { ipv4: ["0.0.0.0/0"], ipv6: ["::/0"] };
  const rulesOf = (name: string) =>
    (rendered[name] ?? []).map(({ protocol, port, sources }) => ({ protocol, port, sources }));
  const tailscale = { protocol: "udp", port: 41641, sources: anywhere };
  const install = { protocol: "tcp", port: 22, sources: anywhere };
  const gateway = [80, 443].map((port) => ({
    protocol: "tcp",
    port,
    sources: { ipv4: cloudflare.ipv4Cidrs, ipv6: cloudflare.ipv6Cidrs },
  }));

  it("admits Tailscale's UDP port from anywhere, and 80/443 from exactly the pinned Cloudflare ranges where the server serves the public gateway", () => {
    assert.deepEqual(rulesOf("installedGateway"), [tailscale, ...gateway]);
  });

  it("admits nothing else to a server that serves no public gateway", () => {
    assert.deepEqual(rulesOf("installedHome"), [tailscale]);
  });

  it("admits the image's SSH port from anywhere only until the generation is installed", () => {
    assert.deepEqual(rulesOf("installingGateway"), [tailscale, install, ...gateway]);
    assert.deepEqual(rulesOf("installingHome"), [tailscale, install]);
  });

  it("never admits the installed server's SSH port or the Kubernetes API", () => {
    const admitted = Object.values(rendered).flatMap((rules) => rules.map((rule) => rule.port));
    assert.ok(!admitted.includes(sshPort ?? 0) && !admitted.includes(6443), String(admitted));
  });

  it("admits the same Tailscale port the host firewall opens", { skip: skipNix }, () => {
    const host = hostFirewall(descriptions[0]?.name ?? "").firewall;
    assert.deepEqual(
      rulesOf("installedHome").map((rule) => rule.port),
      host.allowedUDPPorts,
    );
  });

  it("admits Headscale's port and STUN from anywhere, and nothing else new, when given a Headscale port", async () => {
    const withHeadscale = await providerFirewalls({
      headscale: { ...INSTALLING, installed_generation: 2, public_gateway: false, headscale_port: 8443 },
    });
    assert.deepEqual(
      (withHeadscale.headscale ?? []).map(({ protocol, port, sources }) => ({ protocol, port, sources })),
      [
        tailscale,
        { protocol: "tcp", port: 8443, sources: anywhere },
        { protocol: "udp", port: STUN, sources: anywhere },
      ],
    );
    for (const rule of (withHeadscale.headscale ?? []).slice(1)) {
      assert.match(rule.description, /Headscale.*Tailscale clients anywhere.*not behind Cloudflare's proxy/);
    }
  });

  it("refuses an installed generation above the current one", async () => {
    await assert.rejects(
      providerFirewalls({ ahead: { ...INSTALLING, installed_generation: 3 } }),
      /installed_generation is between 0/,
    );
  });
});

describe("both perimeters of every site", { skip: skipTerraform }, () => {
  const anywhere = { ipv4: ["0.0.0.0/0"], ipv6: ["::/0"] };
  const managed = descriptions.filter((server) => server.provider.kind !== "existing");

  for (const site of sites) {
    describe(`(${site.label})`, () => {
      const passed: Record<string, number | null> = {};
      let rendered: Record<string, ProviderRule[]> = {};
      before(async () => {
        for (const kind of new Set(managed.map((server) => server.provider.kind))) {
          Object.assign(
            passed,
            await templateHeadscalePorts(
              kind,
              managed.filter((server) => server.provider.kind === kind).map((server) => server.name),
              site.root,
            ),
          );
        }
        // Installed servers: nothing but what they keep admitting.
        rendered = await providerFirewalls(
          Object.fromEntries(
            managed.map((server) => [
              server.name.replace(/\W/g, "_"),
              {
                generation: 1,
                installed_generation: 1,
                install_ssh_port: 22,
                public_gateway: server.reachableFromInternet,
                headscale_port: passed[server.name] ?? null,
              },
            ]),
          ),
        );
      });
      const rulesOf = (name: string) =>
        (rendered[name.replace(/\W/g, "_")] ?? []).map(({ protocol, port, sources }) => ({
          protocol,
          port,
          sources,
        }));

      it("passes Headscale's port to the provider firewall of its server only", () => {
        assert.deepEqual(
          passed,
          Object.fromEntries(managed.map((server) => [server.name, headscalePortOn(site, server.name)])),
        );
      });

      for (const server of managed) {
        const headscalePort = headscalePortOn(site, server.name);
        it(`(${server.name}) admits from anywhere Tailscale's port${headscalePort === null ? " and nothing else" : `, and Headscale's ${headscalePort}/TCP and ${STUN}/UDP`}`, () => {
          assert.deepEqual(
            rulesOf(server.name).filter((rule) => rule.sources.ipv4.includes("0.0.0.0/0")),
            [
              { protocol: "udp", port: 41641, sources: anywhere },
              ...(headscalePort === null
                ? []
                : [
                    { protocol: "tcp", port: headscalePort, sources: anywhere },
                    { protocol: "udp", port: STUN, sources: anywhere },
                  ]),
            ],
          );
        });

        it(`(${server.name}) admits exactly what its host firewall admits from the internet`, {
          skip: skipNix,
        }, () => {
          const { firewall } = hostFirewall(server.name, { root: site.root });
          // Every "protocol port source" either side admits on the public interface.
          const everywhere = (protocol: string, port: number) => [
            `${protocol} ${port} 0.0.0.0/0`,
            `${protocol} ${port} ::/0`,
          ];
          const host = [
            ...firewall.allowedTCPPorts.flatMap((port) => everywhere("tcp", port)),
            ...firewall.allowedUDPPorts.flatMap((port) => everywhere("udp", port)),
            ...parseAcceptRules(firewall.extraCommands)
              .filter((rule) => rule.interface === undefined)
              .flatMap((rule) =>
                rule.ports.map(
                  (port) =>
                    `${rule.protocol} ${port} ${rule.source ?? (rule.command === "iptables" ? "0.0.0.0/0" : "::/0")}`,
                ),
              ),
          ];
          const provider = rulesOf(server.name).flatMap(({ protocol, port, sources }) =>
            [...sources.ipv4, ...sources.ipv6].map((source) => `${protocol} ${port} ${source}`),
          );
          assert.deepEqual([...new Set(provider)].sort(), [...new Set(host)].sort());
        });
      }
    });
  }
});

describe("every provider module", () => {
  for (const provider of Object.keys(PROVIDER_FIREWALLS)) {
    it(`(${provider}) builds its firewall from the perimeter module alone and replaces its machine for a new generation`, async () => {
      const dir = join(REPO_ROOT, "terraform", "shared", "providers", provider);
      const parsed = await Promise.all(
        readdirSync(dir)
          .filter((file) => file.endsWith(".tf"))
          .map((file) => parseHcl(join(dir, file))),
      );
      assert.deepEqual(providerFirewallProblems(provider, parsed), []);
    });
  }

  it("exist only with a known firewall resource", () => {
    const providers = readdirSync(join(REPO_ROOT, "terraform", "shared", "providers"), {
      withFileTypes: true,
    })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    assert.deepEqual(providers, Object.keys(PROVIDER_FIREWALLS).sort());
  });
});

describe("the provider firewall check", () => {
  const hcloud = async (firewall: string) =>
    providerFirewallProblems("hcloud", [
      await parse(
        "main.tf",
        `module "perimeter" {\n  source = "../../perimeter"\n  generation = var.generation\n  installed_generation = var.installed_generation\n  public_gateway = var.public_gateway\n  headscale_port = var.headscale_port\n}\n` +
          `resource "terraform_data" "generation" {\n  input = var.generation\n}\n` +
          `resource "hcloud_server" "server" {\n  lifecycle {\n    replace_triggered_by = [terraform_data.generation]\n  }\n}\n` +
          firewall,
      ),
    ]);

  it("reports a rule of the firewall's own next to the perimeter's", async () => {
    const problems = await hcloud(
      `resource "hcloud_firewall" "server" {\n  rule {\n    direction = "in"\n    port = "22"\n  }\n  dynamic "rule" {\n    for_each = module.perimeter.inbound_rules\n  }\n}\n`,
    );
    assert.deepEqual(problems, ["hcloud: hcloud_firewall has a rule of its own"]);
  });

  it("reports rules fed from anything but the perimeter", async () => {
    const problems = await hcloud(
      `resource "hcloud_firewall" "server" {\n  dynamic "rule" {\n    for_each = var.extra_rules\n  }\n}\n`,
    );
    assert.deepEqual(problems, [
      `hcloud: rule comes from \${var.extra_rules}, not module.perimeter.inbound_rules`,
    ]);
  });
});

describe("every template", () => {
  for (const kind of subdirectories(join(REPO_ROOT, TEMPLATES_DIR)).map((dir) => basename(dir))) {
    describe(`(${kind})`, () => {
      let main: Record<string, unknown> = {};
      let outputs: Record<string, unknown> = {};
      const call = (name: string) =>
        (((main.module as Record<string, unknown[]>)[name] ?? [])[0] ?? {}) as Record<string, unknown>;
      before(async () => {
        main = await parseHcl(join(REPO_ROOT, TEMPLATES_DIR, kind, "main.tf"));
        outputs = await parseHcl(join(REPO_ROOT, TEMPLATES_DIR, kind, "outputs.tf"));
      });

      it("serves the public gateway exactly where the description makes the NixOS host reachable from the internet", () => {
        // The flake's side: reachableFromInternet comes from the same field (nix.test.ts).
        assert.equal(call("server").public_gateway, `\${local.server.reachableFromInternet}`);
      });

      it("reads the description and the site through the locals every template has", () => {
        const locals = Object.assign({}, ...((main.locals ?? []) as Record<string, unknown>[]));
        assert.deepEqual(
          Object.fromEntries(Object.keys(TEMPLATE_LOCALS).map((name) => [name, locals[name]])),
          TEMPLATE_LOCALS,
        );
      });

      for (const site of sites) {
        it(`admits Headscale's ports on the server that runs it and on no other, on ${site.label}`, {
          skip: skipTerraform,
        }, async () => {
          const names = descriptions.map((server) => server.name);
          assert.deepEqual(
            await templateHeadscalePorts(kind, names, site.root),
            Object.fromEntries(names.map((name) => [name, headscalePortOn(site, name)])),
          );
        });
      }

      it("opens the install's SSH port only while its generation is not installed", () => {
        assert.equal(call("server").generation, `\${var.generation}`);
        assert.equal(call("server").installed_generation, `\${var.installed_generation}`);
      });

      it("installs through the provider's image and logs in over the tailnet afterwards", () => {
        assert.deepEqual(
          [call("nixos").install_host, call("nixos").install_user, call("nixos").install_port],
          [`\${module.server.ssh_host}`, `\${module.server.ssh_user}`, `\${module.server.ssh_port}`],
        );
        assert.equal(call("nixos").ssh_host, `\${local.host}.\${local.site.tailnet.name}`);
        const sshHost = ((outputs.output as Record<string, { value: unknown }[]>).ssh_host ?? [])[0];
        assert.equal(sshHost?.value, `\${module.nixos.ssh_host}`);
      });
    });
  }
});

describe("every instance root", () => {
  for (const { name } of descriptions.filter((server) => server.provider.kind !== "existing")) {
    it(`(${name}) has an installed generation between 0 and its generation`, async () => {
      const tfvars = await parseHcl(join(REPO_ROOT, INSTANCES_DIR, name, "generation.auto.tfvars"));
      const generation = Number(tfvars.generation);
      const installed = Number(tfvars.installed_generation);
      assert.ok(Number.isInteger(generation) && generation >= 1, `${generation}`);
      assert.ok(Number.isInteger(installed) && installed >= 0 && installed <= generation, `${installed}`);
    });
  }
});
