import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { repositoryRoot, siteSchema, tailnetControlOf } from "@infra/core";

// nixos/modules/tailscale.nix evaluated without nixpkgs (the two lib functions it uses, stood in),
// in a copy of the repository's layout whose servers/site.json is the one under test, so the
// hosts' login server is compared with the one every Pulumi client gets (tailnetControlOf).
const root = mkdtempSync(join(tmpdir(), "tailscale-nix-"));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "nixos", "modules"), { recursive: true });
mkdirSync(join(root, "servers"));
copyFileSync(
  join(repositoryRoot, "nixos", "modules", "tailscale.nix"),
  join(root, "nixos", "modules", "tailscale.nix"),
);
const exampleSite = JSON.parse(readFileSync(join(repositoryRoot, "servers", "site.json"), "utf8"));

function tailscaleSettings(site: unknown): { extraUpFlags: string[]; extraDaemonFlags: string[] } {
  writeFileSync(join(root, "servers", "site.json"), JSON.stringify(site));
  const module = JSON.stringify(join(root, "nixos", "modules", "tailscale.nix"));
  const expression = `
    let
      lib = {
        importJSON = path: builtins.fromJSON (builtins.readFile path);
        optionals = condition: list: if condition then list else [ ];
      };
      config = { sops.secrets."tailscale/auth_key".path = "/run/secrets/tailscale/auth_key"; };
      settings = (import (/. + ${module}) { inherit config lib; }).services.tailscale;
    in { inherit (settings) extraUpFlags extraDaemonFlags; }`;
  const result = spawnSync("nix-instantiate", ["--eval", "--strict", "--json", "-E", expression], {
    encoding: "utf8",
  });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

describe("the NixOS hosts' Tailscale", {
  skip: spawnSync("nix-instantiate", ["--version"]).error ? "nix-instantiate is missing" : false,
}, () => {
  it("logs in to Tailscale's service with no extra flag on a site without Headscale (the example site)", () => {
    assert.deepEqual(tailscaleSettings(exampleSite), { extraUpFlags: [], extraDaemonFlags: [] });
  });

  it("logs in to the site's Headscale, at the URL the Pulumi clients get, keeps its own resolver and uploads no logs", () => {
    for (const headscale of [
      { server: "cloud-a" },
      { server: "cloud-a", hostname: "hs.example.net", port: 443 },
    ]) {
      const site = { ...exampleSite, tailnet: { ...exampleSite.tailnet, headscale } };
      const control = tailnetControlOf(siteSchema.parse(site));
      assert.equal(control.kind, "headscale");
      assert.deepEqual(tailscaleSettings(site), {
        extraUpFlags: [
          `--login-server=${control.kind === "headscale" ? control.url : ""}`,
          "--accept-dns=false",
        ],
        extraDaemonFlags: ["--no-logs-no-support"],
      });
    }
  });
});
