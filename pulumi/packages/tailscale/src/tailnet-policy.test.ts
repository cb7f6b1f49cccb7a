import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type TailnetPolicyArgs, tailnetPolicy } from "./tailnet-policy";

const args: TailnetPolicyArgs = {
  routerTag: "tag:k8s-router",
  tagOwners: ["autogroup:admin"],
  admins: { group: "group:admins", members: ["admin@example.com"] },
  routes: ["10.43.0.0/16", "10.45.0.0/16"],
  exitNodeTags: [],
  ports: ["tcp:80", "tcp:443"],
};

describe("tailnetPolicy", () => {
  it("auto-approves the router tag for every server's route", () => {
    assert.deepEqual(tailnetPolicy(args).autoApprovers, {
      routes: { "10.43.0.0/16": ["tag:k8s-router"], "10.45.0.0/16": ["tag:k8s-router"] },
    });
  });

  it("names the owners of the router tag and defines the admins group", () => {
    const policy = tailnetPolicy(args);
    assert.deepEqual(policy.tagOwners, { "tag:k8s-router": ["autogroup:admin"] });
    assert.deepEqual(policy.groups, { "group:admins": ["admin@example.com"] });
  });

  it("lets the admins reach the routed ranges on the listed ports only", () => {
    assert.deepEqual(tailnetPolicy(args).grants, [
      { src: ["group:admins"], dst: ["10.43.0.0/16", "10.45.0.0/16"], ip: ["tcp:80", "tcp:443"] },
    ]);
    const sync = tailnetPolicy({ ...args, ports: ["tcp:80", "tcp:443", "tcp:22000", "udp:22000"] });
    assert.deepEqual((sync.grants as { ip: string[] }[])[0]?.ip, [
      "tcp:80",
      "tcp:443",
      "tcp:22000",
      "udp:22000",
    ]);
  });

  it("auto-approves exit nodes of the given tags, owned like the router tag, and lets the admins use them", () => {
    const policy = tailnetPolicy({ ...args, exitNodeTags: ["tag:vpn-relay"] });
    assert.deepEqual((policy.autoApprovers as Record<string, unknown>).exitNode, ["tag:vpn-relay"]);
    assert.deepEqual((policy.tagOwners as Record<string, unknown>)["tag:vpn-relay"], ["autogroup:admin"]);
    assert.deepEqual((policy.grants as unknown[])[1], {
      src: ["group:admins"],
      dst: ["autogroup:internet"],
      ip: ["*"],
    });
  });
});
