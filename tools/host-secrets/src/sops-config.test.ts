import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isScalar, isSeq, parse, parseDocument } from "yaml";
import { hostPathRegex, setServerRecipient } from "./sops-config";

const REPO_SOPS_CONFIG = readFileSync(join(__dirname, "..", "..", "..", ".sops.yaml"), "utf8");
const RECIPIENT = `age1${"q".repeat(58)}`;
const OTHER_RECIPIENT = `age1${"p".repeat(58)}`;

interface CreationRule {
  path_regex: string;
  key_groups: { age: string[] }[];
}

function rules(config: string): CreationRule[] {
  return (parse(config) as { creation_rules: CreationRule[] }).creation_rules;
}

function ruleFor(config: string, file: string): CreationRule | undefined {
  return rules(config).find((rule) => new RegExp(rule.path_regex).test(file));
}

function serverAnchors(config: string): string[] {
  const servers = parseDocument(config).getIn(["keys", "servers"], true);
  assert.ok(isSeq(servers));
  return servers.items.map((item) => (isScalar(item) ? (item.anchor ?? "") : ""));
}

describe("recording a server's age recipient in .sops.yaml", () => {
  it("replaces the key of a server the file already lists, keeping its rule", () => {
    const updated = setServerRecipient(REPO_SOPS_CONFIG, "cloud-b", RECIPIENT);
    const rule = ruleFor(updated, "secrets/hosts/cloud-b.yaml");
    assert.deepEqual(rule?.key_groups[0]?.age.slice(-1), [RECIPIENT]);
    assert.equal(rules(updated).length, rules(REPO_SOPS_CONFIG).length);
  });

  it("leaves the other servers' keys alone", () => {
    const updated = setServerRecipient(REPO_SOPS_CONFIG, "cloud-b", RECIPIENT);
    assert.deepEqual(
      ruleFor(updated, "secrets/hosts/cloud-a.yaml"),
      ruleFor(REPO_SOPS_CONFIG, "secrets/hosts/cloud-a.yaml"),
    );
  });

  it("keeps the file's comments", () => {
    const updated = setServerRecipient(REPO_SOPS_CONFIG, "cloud-b", RECIPIENT);
    for (const comment of REPO_SOPS_CONFIG.split("\n").filter((line) => line.trim().startsWith("#"))) {
      assert.ok(updated.includes(comment.trim()), `lost comment: ${comment}`);
    }
  });

  it("adds an anchor and a rule for a new server, encrypting for every admin and that server", () => {
    const updated = setServerRecipient(REPO_SOPS_CONFIG, "local-b", RECIPIENT);
    assert.ok(serverAnchors(updated).includes("local-b"));
    const admins = (parse(updated) as { keys: { admins: string[] } }).keys.admins;
    const rule = ruleFor(updated, "secrets/hosts/local-b.yaml");
    assert.equal(rule?.path_regex, hostPathRegex("local-b"));
    assert.deepEqual(rule?.key_groups[0]?.age, [...admins, RECIPIENT]);
  });

  it("updates a server it added before instead of adding it twice", () => {
    const once = setServerRecipient(REPO_SOPS_CONFIG, "local-b", RECIPIENT);
    const twice = setServerRecipient(once, "local-b", OTHER_RECIPIENT);
    assert.equal(serverAnchors(twice).filter((anchor) => anchor === "local-b").length, 1);
    assert.deepEqual(ruleFor(twice, "secrets/hosts/local-b.yaml")?.key_groups[0]?.age.slice(-1), [
      OTHER_RECIPIENT,
    ]);
  });

  it("writes a rule that matches only that server's file, by relative or absolute path", () => {
    const pattern = new RegExp(hostPathRegex("cloud-a"));
    assert.ok(pattern.test("secrets/hosts/cloud-a.yaml"));
    assert.ok(pattern.test("/home/me/infra/secrets/hosts/cloud-a.yaml"));
    assert.ok(!pattern.test("secrets/hosts/cloud-ab.yaml"));
    assert.ok(!pattern.test("secrets/hosts/xcloud-a.yaml"));
  });

  it("rejects a value that is not an age recipient", () => {
    assert.throws(
      () => setServerRecipient(REPO_SOPS_CONFIG, "cloud-a", "age1-not-a-key"),
      /not an age recipient/,
    );
  });

  it("rejects a host name that cannot be a path or an anchor", () => {
    assert.throws(() => setServerRecipient(REPO_SOPS_CONFIG, "../cloud", RECIPIENT), /not a valid host name/);
  });

  it("refuses a file without admin keys, which would lock the admins out of the new file", () => {
    const noAdmins = "keys:\n  admins: []\n  servers: []\ncreation_rules: []\n";
    assert.throws(() => setServerRecipient(noAdmins, "cloud-a", RECIPIENT), /no admin key/);
  });
});
