import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TailnetPolicyArgs } from "@infra/tailscale";
import { headscalePolicy } from "./policy";
import { headscalePolicySchema } from "./policy-schema";

const web = [
  { port: 80, protocol: "TCP" },
  { port: 443, protocol: "TCP" },
] as const;
const sync = [
  { port: 22000, protocol: "TCP" },
  { port: 22000, protocol: "UDP" },
] as const;

// The platform's inputs, as internal-gateway gives them to tailnetPolicy(), with Headscale users
// (a Headscale user is named `<name>@` in a policy, docs/ref/policy.md).
const args: TailnetPolicyArgs = {
  tagOwners: ["group:admins"],
  admins: { group: "group:admins", members: ["alice@"] },
  routers: [
    {
      tag: "tag:k8s-router-cloud-a",
      destinations: [
        { route: "10.43.0.53/32", ports: web },
        { route: "10.43.0.54/32", ports: sync },
      ],
    },
    { tag: "tag:k8s-router-local-a", destinations: [{ route: "10.47.0.53/32", ports: web }] },
  ],
  exitNodeTags: ["tag:vpn-relay"],
};

/** The schema's complaints about a document, one line each. */
function problems(document: unknown): string[] {
  const parsed = headscalePolicySchema.safeParse(document);
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
}

describe("headscalePolicy", () => {
  const policy = headscalePolicy(args);

  it("keeps the groups, tag owners and auto-approvers of the Tailscale document", () => {
    assert.deepEqual(policy.groups, { "group:admins": ["alice@"] });
    assert.deepEqual(policy.tagOwners, {
      "tag:k8s-router-cloud-a": ["group:admins"],
      "tag:k8s-router-local-a": ["group:admins"],
      "tag:vpn-relay": ["group:admins"],
    });
    assert.deepEqual(policy.autoApprovers, {
      routes: {
        "10.43.0.53/32": ["tag:k8s-router-cloud-a"],
        "10.43.0.54/32": ["tag:k8s-router-cloud-a"],
        "10.47.0.53/32": ["tag:k8s-router-local-a"],
      },
      exitNode: ["tag:vpn-relay"],
    });
  });

  it("turns each grant into ACL rules, one per protocol, each route on its own ports, and the exit nodes into autogroup:internet:*", () => {
    assert.deepEqual(policy.acls, [
      {
        action: "accept",
        src: ["group:admins"],
        proto: "tcp",
        dst: ["10.43.0.53/32:80,443", "10.47.0.53/32:80,443"],
      },
      { action: "accept", src: ["group:admins"], proto: "tcp", dst: ["10.43.0.54/32:22000"] },
      { action: "accept", src: ["group:admins"], proto: "udp", dst: ["10.43.0.54/32:22000"] },
      { action: "accept", src: ["group:admins"], dst: ["autogroup:internet:*"] },
    ]);
  });

  it("renders no section Headscale does not know: no grants", () => {
    assert.deepEqual(Object.keys(policy).sort(), ["acls", "autoApprovers", "groups", "tagOwners"]);
  });

  it("refuses a tag owner Headscale does not know, naming it", () => {
    assert.throws(
      () => headscalePolicy({ ...args, tagOwners: ["autogroup:admin"] }),
      /tagOwners: Headscale knows no autogroup:admin/,
    );
  });

  it("refuses a group member without @, which Headscale cannot parse as a user", () => {
    assert.throws(
      () => headscalePolicy({ ...args, admins: { group: "group:admins", members: ["alice"] } }),
      /a username must contain @/,
    );
  });
});

describe("headscalePolicySchema, Headscale's policy format", () => {
  const valid = {
    groups: { "group:admins": ["alice@", "bob@example.com"] },
    hosts: { "nas.home": "192.168.1.10/32" },
    tagOwners: { "tag:router": ["group:admins"], "tag:relay": ["tag:router"] },
    acls: [
      {
        action: "accept",
        src: ["group:admins"],
        proto: "tcp",
        dst: ["10.43.0.53/32:80,443", "nas.home:8000-8100"],
      },
      { action: "accept", src: ["autogroup:member"], proto: "icmp", dst: ["tag:router:*"] },
      { action: "accept", src: ["group:admins"], dst: ["autogroup:internet:*"] },
    ],
    autoApprovers: { routes: { "10.43.0.53/32": ["tag:router"] }, exitNode: ["tag:relay"] },
  };

  it("accepts a document of every section the platform uses, as the docs write them", () => {
    assert.deepEqual(problems(valid), []);
    assert.deepEqual(problems({}), [], "an empty policy allows everything (docs/ref/policy.md)");
  });

  it("refuses Tailscale sections Headscale 0.28 rejects as unknown: grants, postures", () => {
    assert.notDeepEqual(problems({ ...valid, grants: [] }), []);
    assert.notDeepEqual(problems({ ...valid, postures: {} }), []);
  });

  it("refuses an ACL action other than accept and the protocol *", () => {
    assert.notDeepEqual(problems({ acls: [{ action: "deny", src: ["*"], dst: ["*:*"] }] }), []);
    assert.notDeepEqual(problems({ acls: [{ action: "accept", proto: "*", src: ["*"], dst: ["*:*"] }] }), []);
  });

  it("refuses a destination without ports, and ports out of range", () => {
    assert.notDeepEqual(problems({ acls: [{ action: "accept", src: ["*"], dst: ["10.0.0.1/32"] }] }), []);
    assert.notDeepEqual(
      problems({ acls: [{ action: "accept", src: ["*"], dst: ["10.0.0.1/32:70000"] }] }),
      [],
    );
  });

  it("refuses ports with a protocol that has none", () => {
    assert.notDeepEqual(
      problems({ acls: [{ action: "accept", src: ["*"], proto: "icmp", dst: ["10.0.0.1/32:80"] }] }),
      [],
    );
  });

  it("refuses autogroup:internet as a source and autogroups Headscale does not have", () => {
    assert.notDeepEqual(
      problems({ acls: [{ action: "accept", src: ["autogroup:internet"], dst: ["*:*"] }] }),
      [],
    );
    assert.notDeepEqual(
      problems({ acls: [{ action: "accept", src: ["*"], dst: ["autogroup:admin:*"] }] }),
      [],
    );
  });

  it("refuses groups, tags and hosts the policy does not define", () => {
    assert.deepEqual(problems({ acls: [{ action: "accept", src: ["group:ops"], dst: ["*:*"] }] }), [
      "acls.src: group group:ops is not defined in groups",
    ]);
    assert.deepEqual(problems({ acls: [{ action: "accept", src: ["*"], dst: ["tag:db:5432"] }] }), [
      "acls.dst: tag tag:db is not defined in tagOwners",
    ]);
    assert.deepEqual(problems({ acls: [{ action: "accept", src: ["*"], dst: ["db:5432"] }] }), [
      "acls.dst: host db is not defined in hosts",
    ]);
    assert.deepEqual(problems({ autoApprovers: { exitNode: ["tag:relay"] } }), [
      "autoApprovers.exitNode: tag tag:relay is not defined in tagOwners",
    ]);
  });

  it("refuses an auto-approved route that is no prefix, and a group inside a group", () => {
    assert.notDeepEqual(problems({ autoApprovers: { routes: { "not-a-route": ["alice@"] } } }), []);
    assert.notDeepEqual(problems({ groups: { "group:a": ["group:b"] } }), []);
  });
});
