import { spawnSync } from "node:child_process";
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

/** A server as the flake builds it, read back from the NixOS modules it hands lib.nixosSystem. */
export interface FlakeServer {
  /** Its attribute under nixosConfigurations: the description's file name, servers/<name>.json. */
  name: string;
  hostName: string;
  role: string;
  reachableFromInternet: boolean;
  clusterCidr: string;
  serviceCidr: string;
  /** How many host-specific modules (nixos/instances/<name>) it gets besides ./modules: 0 or 1. */
  extras: number;
}

/**
 * The flake's nixosConfigurations, evaluated from nixos/flake.nix itself without nixpkgs: its inputs
 * are stand-ins whose lib.nixosSystem returns its arguments, so the modules each server gets can be
 * read back (the description's settings are the one attribute set among them that sets networking).
 */
export function flakeServers(root = REPO_ROOT): FlakeServer[] {
  return evalNixExpression(`
    let
      flake = import ${nixPath(join(root, "nixos", "flake.nix"))};
      inputs = {
        nixpkgs = {
          lib = {
            nixosSystem = arguments: arguments;
            genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
          };
          legacyPackages.x86_64-linux.nixos-rebuild = null;
        };
        disko.nixosModules.disko = { };
        sops-nix.nixosModules.sops = { };
      };
      server =
        name: configuration:
        let
          settings = builtins.head (
            builtins.filter (module: builtins.isAttrs module && module ? networking) configuration.modules
          );
        in
        {
          inherit name;
          inherit (settings.networking) hostName;
          inherit (settings.homelab) role reachableFromInternet;
          inherit (settings.homelab.kubernetes) clusterCidr serviceCidr;
          extras = builtins.length (builtins.filter builtins.isPath configuration.modules) - 1;
        };
    in
    builtins.attrValues (builtins.mapAttrs server (flake.outputs inputs).nixosConfigurations)`) as FlakeServer[];
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
