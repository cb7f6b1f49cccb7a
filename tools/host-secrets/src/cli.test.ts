import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { k3sSecretKey } from "./host-secrets";
import { K3S_TLS_FILES } from "./k3s-ca";
import { ageRecipientFromSshPublicKey } from "./ssh";

const CLI = join(__dirname, "cli.ts");
const REPO_SOPS_CONFIG = join(__dirname, "..", "..", "..", ".sops.yaml");

function runCli(sopsConfig: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ["--import", "tsx", CLI, "cloud-b", "--sops-config", sopsConfig], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...env },
  });
}

interface HostDocument {
  ssh: { host_ed25519_key: string; host_ed25519_key_pub: string };
  k3s: Record<string, string>;
  tailscale: { auth_key: string };
}

describe("host-secrets cloud-b", () => {
  let dir = "";
  let sopsConfig = "";
  let result: ReturnType<typeof runCli>;
  let document: HostDocument;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "host-secrets-"));
    sopsConfig = join(dir, ".sops.yaml");
    copyFileSync(REPO_SOPS_CONFIG, sopsConfig);
    result = runCli(sopsConfig, { TAILSCALE_AUTH_KEY: "tskey-auth-test" });
    document = parse(result.stdout) as HostDocument;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the server's secrets document", () => {
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(Object.keys(document).sort(), ["k3s", "ssh", "tailscale"]);
  });

  it("includes every k3s tls file under the key the NixOS module reads", () => {
    assert.deepEqual(Object.keys(document.k3s).sort(), K3S_TLS_FILES.map(k3sSecretKey).sort());
  });

  it("includes the SSH host key pair and the Tailscale auth key", () => {
    assert.match(document.ssh.host_ed25519_key, /^-----BEGIN OPENSSH /);
    assert.match(document.ssh.host_ed25519_key_pub, /^ssh-ed25519 \S+ root@cloud-b$/);
    assert.equal(document.tailscale.auth_key, "tskey-auth-test");
  });

  it("records in .sops.yaml the age recipient of the new SSH host key", () => {
    const config = parse(readFileSync(sopsConfig, "utf8")) as { keys: { servers: string[] } };
    assert.ok(config.keys.servers.includes(ageRecipientFromSshPublicKey(document.ssh.host_ed25519_key_pub)));
  });

  it("keeps the secrets off stderr", () => {
    assert.doesNotMatch(result.stderr, /PRIVATE|tskey/);
  });
});

describe("host-secrets without a Tailscale auth key", () => {
  it("fails, saying what is missing, and leaves .sops.yaml as it was", () => {
    const dir = mkdtempSync(join(tmpdir(), "host-secrets-"));
    try {
      const sopsConfig = join(dir, ".sops.yaml");
      copyFileSync(REPO_SOPS_CONFIG, sopsConfig);
      const result = runCli(sopsConfig, {});
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /TAILSCALE_AUTH_KEY is not set/);
      assert.equal(result.stdout, "");
      assert.equal(readFileSync(sopsConfig, "utf8"), readFileSync(REPO_SOPS_CONFIG, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
