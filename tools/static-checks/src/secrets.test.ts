import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse, parseDocument } from "yaml";
import { generateHostSecrets } from "../../host-secrets/src/host-secrets";
import { REPO_ROOT, repoFiles } from "./repo";
import { describedServers } from "./servers";

interface CreationRule {
  path_regex: string;
  key_groups: { age: string[] }[];
}

const sopsConfigText = readFileSync(join(REPO_ROOT, ".sops.yaml"), "utf8");
const sopsConfig = parse(sopsConfigText) as {
  keys: { admins: string[]; servers: string[] };
  creation_rules: CreationRule[];
};

/** The recipients sops would encrypt a file for: those of the first rule that matches it. */
function recipientsFor(file: string): string[] | undefined {
  const rule = sopsConfig.creation_rules.find((candidate) => new RegExp(candidate.path_regex).test(file));
  return rule?.key_groups.flatMap((group) => group.age);
}

/** The recipient `.sops.yaml` anchors as `&<host>` under keys.servers. */
function serverRecipient(host: string): unknown {
  const servers = parseDocument(sopsConfigText).getIn(["keys", "servers"], true) as {
    items: { anchor?: string; value?: unknown }[];
  };
  return servers.items.find((item) => item.anchor === host)?.value;
}

describe(".sops.yaml", () => {
  it("encrypts shared secrets for the admins only", () => {
    assert.deepEqual(recipientsFor("secrets/shared/env.yaml"), sopsConfig.keys.admins);
  });

  it("encrypts each server's file for the admins and that server only", () => {
    const hosts = describedServers().servers.map((server) => server.name);
    assert.ok(hosts.length > 0);
    for (const name of hosts) {
      assert.deepEqual(
        recipientsFor(`secrets/hosts/${name}.yaml`),
        [...sopsConfig.keys.admins, serverRecipient(name)],
        name,
      );
    }
  });

  it("matches no file outside the documented layout", () => {
    assert.equal(recipientsFor("secrets/other.yaml"), undefined);
    assert.equal(recipientsFor("secrets/hosts/nested/cloud-a.yaml"), undefined);
  });
});

describe("the secrets directory", () => {
  it("holds nothing but its layout document and sops-encrypted files", () => {
    const files = repoFiles().filter((file) => file.startsWith("secrets/") && file !== "secrets/README.md");
    const plain = files.filter((file) => {
      const document = parse(readFileSync(join(REPO_ROOT, file), "utf8")) as {
        sops?: { mac?: unknown };
      } | null;
      return typeof document?.sops?.mac !== "string";
    });
    assert.deepEqual(plain, []);
  });
});

describe("the names of the secrets", () => {
  let document: Record<string, Record<string, unknown>> = {};
  const has = (path: string[]) =>
    path.reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], document) !== undefined;
  before(async () => {
    document = parse((await generateHostSecrets("cloud-a", "tskey-auth-test")).document);
  });

  it("that the NixOS modules read are all in a generated server file", () => {
    const modules = ["tailscale.nix", "kubernetes.nix", "server.nix"].map((file) =>
      readFileSync(join(REPO_ROOT, "nixos", "modules", file), "utf8"),
    );
    const names = modules.flatMap((text) =>
      [...text.matchAll(/sops\.secrets\."([^"]+)"/g)].map((match) => match[1] ?? ""),
    );
    assert.ok(names.includes("tailscale/auth_key"));
    for (const name of names) assert.ok(has(name.split("/")), name);
  });

  it("that the extra-files script decrypts are all in a generated server file", () => {
    const script = readFileSync(join(REPO_ROOT, "terraform", "shared", "nixos", "extra-files.sh"), "utf8");
    const paths = [...script.matchAll(/--extract '((?:\["[^"]+"\])+)'/g)].map((match) =>
      [...(match[1] ?? "").matchAll(/"([^"]+)"/g)].map((key) => key[1] ?? ""),
    );
    assert.equal(paths.length, 2);
    for (const path of paths) assert.ok(has(path), path.join("/"));
  });
});
