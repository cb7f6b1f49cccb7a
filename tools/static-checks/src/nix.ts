import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, repoFiles } from "./repo";

/** The repository's Nix files (tracked or not ignored). */
export function nixFiles(root = REPO_ROOT): string[] {
  return repoFiles(root).filter((file) => file.endsWith(".nix"));
}

/** Parses a Nix file without evaluating it; returns the parser's complaint, empty when it parses. */
export function nixParseError(path: string): string {
  const result = spawnSync("nix-instantiate", ["--parse", path], { encoding: "utf8" });
  if (result.error) throw result.error;
  // Debian's nix-bin warns about its build-users group on every run; only errors matter here.
  return result.status === 0 ? "" : result.stderr.replace(/^warning: .*\n/gm, "").trim();
}

/** Evaluates a self-contained Nix file (no nixpkgs needed) to JSON. */
export function evalNixFile(path: string): unknown {
  return evalNix([path], path);
}

/** Evaluates a self-contained Nix expression (no nixpkgs needed) to JSON. */
export function evalNixExpression(expression: string): unknown {
  return evalNix(["-E", expression], expression);
}

/** A path literal for a Nix expression, whatever characters the path holds. */
export function nixPath(path: string): string {
  return `(/. + ${JSON.stringify(path)})`;
}

function evalNix(args: string[], shown: string): unknown {
  const result = spawnSync("nix-instantiate", ["--eval", "--strict", "--json", ...args], {
    encoding: "utf8",
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`nix-instantiate --eval ${shown}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

export interface ServerInstance {
  /** Directory name under nixos/instances. */
  name: string;
  hostName: unknown;
  role: unknown;
  clusterCidr: unknown;
  serviceCidr: unknown;
}

interface InstanceFile {
  networking?: { hostName?: unknown };
  homelab?: { role?: unknown; kubernetes?: { clusterCidr?: unknown; serviceCidr?: unknown } };
}

/** The instance files under nixos/instances: plain attribute sets, so they evaluate without nixpkgs. */
export function serverInstances(root = REPO_ROOT): ServerInstance[] {
  const dir = join(root, "nixos", "instances");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const value = evalNixFile(join(dir, entry.name, "default.nix")) as InstanceFile;
      return {
        name: entry.name,
        hostName: value.networking?.hostName,
        role: value.homelab?.role,
        clusterCidr: value.homelab?.kubernetes?.clusterCidr,
        serviceCidr: value.homelab?.kubernetes?.serviceCidr,
      };
    });
}

interface Range {
  label: string;
  first: number;
  last: number;
}

function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255))
    return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

/** Parses an IPv4 CIDR that names a network (no host bits set). */
export function parseCidr(cidr: string): { first: number; last: number } | undefined {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const address = match?.[1] === undefined ? undefined : ipv4ToNumber(match[1]);
  const prefix = Number(match?.[2]);
  if (address === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return undefined;
  return { first: address, last: address + size - 1 };
}

/** Every malformed CIDR and every pair of overlapping ones among all servers' pod and service networks. */
export function cidrProblems(instances: ServerInstance[]): string[] {
  const problems: string[] = [];
  const ranges: Range[] = [];
  for (const instance of instances) {
    for (const [kind, cidr] of [
      ["clusterCidr", instance.clusterCidr],
      ["serviceCidr", instance.serviceCidr],
    ] as const) {
      const label = `${instance.name} ${kind} ${String(cidr)}`;
      const range = typeof cidr === "string" ? parseCidr(cidr) : undefined;
      if (range) ranges.push({ label, ...range });
      else problems.push(`${label} is not an IPv4 network in CIDR notation`);
    }
  }
  ranges.forEach((a, index) => {
    for (const b of ranges.slice(index + 1)) {
      if (a.first <= b.last && b.first <= a.last) problems.push(`${a.label} overlaps ${b.label}`);
    }
  });
  return problems;
}
