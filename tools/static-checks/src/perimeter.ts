import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { join, relative } from "node:path";
import { evalNixExpression, nixPath, parseCidr } from "./nix";
import { REPO_ROOT, withTempDir } from "./repo";
import { parseHcl } from "./terraform";

type Json = Record<string, unknown>;

/** Cloudflare's published ranges, pinned once for NixOS, Terraform and the public gateway. */
export const CLOUDFLARE_RANGES_FILE = "nixos/cloudflare-ip-ranges.json";

export interface CloudflareRanges {
  ipv4Cidrs: string[];
  ipv6Cidrs: string[];
}

export function cloudflareRanges(root = REPO_ROOT): CloudflareRanges {
  return JSON.parse(readFileSync(join(root, CLOUDFLARE_RANGES_FILE), "utf8")) as CloudflareRanges;
}

function ipv6ToBigInt(address: string): bigint | undefined {
  if (!isIPv6(address) || address.includes(".")) return undefined;
  const [head = "", tail] = address.split("::");
  const start = head === "" ? [] : head.split(":");
  const end = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined ? start : [...start, ...Array(8 - start.length - end.length).fill("0"), ...end];
  return groups.reduce((value, group) => (value << 16n) + BigInt(Number.parseInt(group, 16)), 0n);
}

/** CIDRs that are not networks of the family (an address with host bits set included). */
export function cidrFamilyProblems(family: "ipv4" | "ipv6", cidrs: unknown[]): string[] {
  return cidrs
    .filter((cidr) => {
      if (typeof cidr !== "string") return true;
      if (family === "ipv4") return !isIPv4(cidr.split("/")[0] ?? "") || parseCidr(cidr) === undefined;
      const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
      const address = match?.[1] === undefined ? undefined : ipv6ToBigInt(match[1]);
      const prefix = Number(match?.[2]);
      if (address === undefined || prefix > 128) return true;
      return address % (1n << BigInt(128 - prefix)) !== 0n;
    })
    .map((cidr) => `${String(cidr)} is not an ${family} network`);
}

// ---- The host firewall (NixOS) ----

/** What nixos/modules/firewall-rules.nix gives networking.firewall. */
export interface HostFirewall {
  allowedTCPPorts: number[];
  allowedUDPPorts: number[];
  interfaces: Record<string, { allowedTCPPorts: number[] }>;
  extraCommands: string;
}

/** The nixpkgs defaults firewall.nix passes on (services.tailscale.interfaceName and .port). */
export const TAILSCALE_DEFAULTS = { interfaceName: "tailscale0", port: 41641 };

/**
 * The host firewall of a server, evaluated from the real rules file with the settings the flake
 * derives from its description (nixos/servers.nix) and the site's Headscale (firewall.nix's
 * headscalePortOf), or with `reachableFromInternet` as given, to see the same server closed or open.
 * `root` is a repository (or a copy of its servers/ and nixos/ files) to read them from.
 */
export function hostFirewall(
  server: string,
  options: { reachableFromInternet?: boolean; root?: string } = {},
): { reachableFromInternet: boolean; headscalePort: number | null; firewall: HostFirewall } {
  const root = options.root ?? REPO_ROOT;
  const file = (path: string) => nixPath(join(root, path));
  return evalNixExpression(`
    let
      rules = import ${file("nixos/modules/firewall-rules.nix")};
      homelab = ((import ${file("nixos/servers.nix")}).settings ${JSON.stringify(server)}).homelab;
      site = builtins.fromJSON (builtins.readFile ${file("servers/site.json")});
      reachableFromInternet = ${
        options.reachableFromInternet === undefined
          ? "homelab.reachableFromInternet"
          : String(options.reachableFromInternet)
      };
      headscalePort = rules.headscalePortOf site ${JSON.stringify(server)};
    in
    {
      inherit reachableFromInternet headscalePort;
      firewall = rules.firewall {
        tailnetInterface = ${JSON.stringify(TAILSCALE_DEFAULTS.interfaceName)};
        tailscalePort = ${TAILSCALE_DEFAULTS.port};
        inherit (site.admin) sshPort;
        inherit (homelab.kubernetes) clusterCidr;
        inherit reachableFromInternet;
        cloudflare = builtins.fromJSON (builtins.readFile ${file(CLOUDFLARE_RANGES_FILE)});
        inherit headscalePort;
      };
    }`) as { reachableFromInternet: boolean; headscalePort: number | null; firewall: HostFirewall };
}

/** Whether a server of this role is reachable from the internet unless its configuration says otherwise. */
export function reachableByDefault(role: string, root = REPO_ROOT): boolean {
  const rules = nixPath(join(root, "nixos", "modules", "firewall-rules.nix"));
  return evalNixExpression(`(import ${rules}).reachableByDefault ${JSON.stringify(role)}`) as boolean;
}

/** One accept rule of extraCommands, read back from its iptables arguments. */
export interface AcceptRule {
  command: "iptables" | "ip6tables";
  interface?: string;
  source?: string;
  protocol: string;
  ports: number[];
}

/**
 * Reads extraCommands line by line. Only the shape firewall-rules.nix writes is accepted: an
 * accept rule appended to nixos-fw, matched by interface, source, protocol and port(s); anything
 * else throws, so a rule the checks do not understand cannot slip through.
 */
export function parseAcceptRules(extraCommands: string): AcceptRule[] {
  return extraCommands
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [command, ...args] = line.trim().split(/\s+/);
      if (command !== "iptables" && command !== "ip6tables") throw new Error(`not an iptables rule: ${line}`);
      const rule: Partial<AcceptRule> & { command: AcceptRule["command"] } = { command };
      let target: string | undefined;
      for (let index = 0; index < args.length; index++) {
        const option = args[index];
        const value = args[index + 1] ?? "";
        if (option === "-w") continue;
        index++;
        if (option === "-A" && value === "nixos-fw") continue;
        if (option === "-m" && value === "multiport") continue;
        if (option === "-i") rule.interface = value;
        else if (option === "-s") rule.source = value;
        else if (option === "-p") rule.protocol = value;
        else if (option === "--dport" || option === "--dports") rule.ports = value.split(",").map(Number);
        else if (option === "-j") target = value;
        else throw new Error(`unexpected ${option} ${value} in: ${line}`);
      }
      if (target !== "nixos-fw-accept" || !rule.protocol || !rule.ports) {
        throw new Error(`not an accept rule for a protocol and port: ${line}`);
      }
      return rule as AcceptRule;
    });
}

// ---- The provider firewall (Terraform) ----

/** The inputs of terraform/shared/perimeter. */
export interface PerimeterInputs {
  generation: number;
  installed_generation: number;
  install_ssh_port: number;
  public_gateway: boolean;
  /** Headscale's TCP port where the server runs the site's Headscale; absent or null elsewhere. */
  headscale_port?: number | null;
}

/** One rule of terraform/shared/perimeter's inbound_rules. */
export interface ProviderRule {
  description: string;
  protocol: string;
  port: number;
  sources: { ipv4: string[]; ipv6: string[] };
}

function terraform(dir: string, args: string[], input?: string) {
  const result = spawnSync("terraform", args, {
    cwd: dir,
    input,
    encoding: "utf8",
    // No version check against HashiCorp's servers: the checks run offline.
    env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" },
  });
  if (result.error) throw result.error;
  return result;
}

/**
 * What terraform/shared/perimeter renders for each named set of inputs, evaluated by Terraform itself
 * (`terraform console` on a root that calls the module once per set; it needs no provider, so no
 * download). Rejects with Terraform's message when it refuses the inputs.
 */
export function providerFirewalls(
  cases: Record<string, PerimeterInputs>,
  root = REPO_ROOT,
): Promise<Record<string, ProviderRule[]>> {
  return withTempDir((dir) => {
    // Terraform takes a local module only by a relative path.
    const source = relative(dir, join(root, "terraform", "shared", "perimeter"));
    writeFileSync(
      join(dir, "main.tf"),
      Object.entries(cases)
        .map(
          ([name, inputs]) =>
            `module "${name}" {\n  source = ${JSON.stringify(source)}\n${Object.entries(inputs)
              .map(([key, value]) => `  ${key} = ${JSON.stringify(value)}\n`)
              .join("")}}\n`,
        )
        .join(""),
    );
    return consoleJson(
      dir,
      `{ ${Object.keys(cases)
        .map((name) => `${name} = module.${name}.inbound_rules`)
        .join(", ")} }`,
    ) as Record<string, ProviderRule[]>;
  });
}

/** Initialises the root in `dir` (local modules only) and evaluates `expression` there as JSON. */
function consoleJson(dir: string, expression: string): unknown {
  const init = terraform(dir, ["init", "-input=false", "-backend=false", "-no-color"]);
  if (init.status !== 0) throw new Error(`terraform init: ${init.stderr}`);
  const evaluated = terraform(dir, ["console", "-no-color"], `jsonencode(${expression})\n`);
  const printed = evaluated.stdout.trim().split("\n").at(-1) ?? "";
  if (evaluated.status !== 0 || !printed.startsWith('"')) {
    throw new Error(`terraform console: ${evaluated.stderr}${evaluated.stdout}`);
  }
  // The console prints the JSON document as a quoted string.
  return JSON.parse(JSON.parse(printed));
}

/** The locals of every template that the expressions it passes to its provider module read. */
export const TEMPLATE_LOCALS = {
  host: `\${basename(abspath(path.module))}`,
  server: `\${jsondecode(file("\${path.module}/../../../servers/\${local.host}.json"))}`,
  site: `\${jsondecode(file("\${path.module}/../../../servers/site.json"))}`,
};

/**
 * The headscale_port that the template of provider kind `kind` passes to its provider module (and so
 * to terraform/shared/perimeter) for each server, evaluated by Terraform from the template's own
 * expression, with the template's locals read from `root`'s servers/ (a copy, to try another site).
 */
export async function templateHeadscalePorts(
  kind: string,
  servers: string[],
  root = REPO_ROOT,
): Promise<Record<string, number | null>> {
  const main = await parseHcl(join(root, "terraform", "templates", kind, "main.tf"));
  const call = only((main.module as Record<string, unknown> | undefined)?.server);
  const expression = /^\$\{([\s\S]*)\}$/.exec(String(call.headscale_port ?? ""))?.[1];
  if (expression === undefined)
    throw new Error(`${kind}: module "server" passes no headscale_port expression`);
  return withTempDir((dir) => {
    // One module per server, with the template's locals at the given root and its expression.
    mkdirSync(join(dir, "template"));
    const servers_ = JSON.stringify(join(root, "servers"));
    writeFileSync(
      join(dir, "template", "main.tf"),
      `variable "host" {\n  type = string\n}\n` +
        `locals {\n  host = var.host\n  server = jsondecode(file("\${${servers_}}/\${var.host}.json"))\n` +
        `  site = jsondecode(file("\${${servers_}}/site.json"))\n}\n` +
        `output "headscale_port" {\n  value = ${expression}\n}\n`,
    );
    writeFileSync(
      join(dir, "main.tf"),
      servers
        .map(
          (server, index) =>
            `module "s${index}" {\n  source = "./template"\n  host = ${JSON.stringify(server)}\n}\n`,
        )
        .join(""),
    );
    const ports = consoleJson(
      dir,
      `[${servers.map((_, index) => `module.s${index}.headscale_port`).join(", ")}]`,
    ) as (number | null)[];
    return Object.fromEntries(servers.map((server, index) => [server, ports[index] ?? null]));
  });
}

/** Each provider module's firewall resource and the block that holds one inbound rule. */
export const PROVIDER_FIREWALLS: Record<string, { resource: string; block: string; machine: string }> = {
  hcloud: { resource: "hcloud_firewall", block: "rule", machine: "hcloud_server" },
  digitalocean: { resource: "digitalocean_firewall", block: "inbound_rule", machine: "digitalocean_droplet" },
  proxmox: {
    resource: "proxmox_virtual_environment_firewall_rules",
    block: "rule",
    machine: "proxmox_virtual_environment_vm",
  },
};

const PERIMETER_RULES = "module.perimeter.inbound_rules";

function only(value: unknown): Json {
  return ((value as Json[] | undefined)?.[0] ?? {}) as Json;
}

/**
 * Why a provider module's firewall might admit more than terraform/shared/perimeter says: a static
 * inbound rule, a dynamic one fed from anything but the perimeter's rules, or a perimeter call that
 * does not pass the module's generation, gateway and Headscale settings.
 */
export function providerFirewallProblems(provider: string, parsed: Json[]): string[] {
  const spec = PROVIDER_FIREWALLS[provider];
  if (!spec) return [`${provider}: no known firewall resource`];
  const merged = (type: string) =>
    Object.assign({}, ...parsed.map((file) => (file[type] ?? {}) as Json)) as Record<string, Json[]>;
  const resources = merged("resource") as unknown as Record<string, Record<string, Json[]>>;
  const locals = Object.assign({}, ...parsed.flatMap((file) => (file.locals ?? []) as Json[])) as Json;
  const problems: string[] = [];

  const perimeter = only(merged("module").perimeter);
  const expected = {
    source: "../../perimeter",
    generation: `\${var.generation}`,
    installed_generation: `\${var.installed_generation}`,
    public_gateway: `\${var.public_gateway}`,
    headscale_port: `\${var.headscale_port}`,
  };
  for (const [argument, value] of Object.entries(expected)) {
    if (perimeter[argument] !== value) {
      problems.push(
        `${provider}: module "perimeter" has ${argument} = ${JSON.stringify(perimeter[argument])}`,
      );
    }
  }

  const firewall = only(resources[spec.resource]?.server);
  if ((firewall[spec.block] as unknown[] | undefined)?.length) {
    problems.push(`${provider}: ${spec.resource} has a ${spec.block} of its own`);
  }
  const dynamic = ((firewall.dynamic as Json | undefined)?.[spec.block] ?? []) as Json[];
  if (dynamic.length !== 1)
    problems.push(`${provider}: ${spec.resource} has ${dynamic.length} dynamic ${spec.block}s`);
  for (const block of dynamic) {
    const forEach = String(block.for_each ?? "");
    // Directly, or through a local that only reshapes each of the perimeter's rules (Proxmox).
    const local = /^\$\{local\.(\w+)\}$/.exec(forEach)?.[1];
    const fedByPerimeter =
      local === undefined
        ? forEach === `\${${PERIMETER_RULES}}`
        : String(locals[local] ?? "").includes(`for rule in ${PERIMETER_RULES} :`);
    if (!fedByPerimeter)
      problems.push(`${provider}: ${spec.block} comes from ${forEach}, not ${PERIMETER_RULES}`);
  }

  const machine = only(resources[spec.machine]?.server);
  const replacedBy = (only(machine.lifecycle).replace_triggered_by ?? []) as string[];
  const generation = only(resources.terraform_data?.generation);
  if (!replacedBy.includes(`\${terraform_data.generation}`) || generation.input !== `\${var.generation}`) {
    problems.push(`${provider}: ${spec.machine} is not replaced when the generation changes`);
  }
  return problems;
}
