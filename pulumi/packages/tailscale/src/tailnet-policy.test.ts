import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type TailnetPolicyArgs, tailnetPolicy } from "./tailnet-policy";

const web = [
  { port: 80, protocol: "TCP" },
  { port: 443, protocol: "TCP" },
] as const;
const sync = [
  { port: 22000, protocol: "TCP" },
  { port: 22000, protocol: "UDP" },
] as const;

const args: TailnetPolicyArgs = {
  tagOwners: ["autogroup:admin"],
  admins: { group: "group:admins", members: ["admin@example.com"] },
  routers: [
    {
      tag: "tag:k8s-router-cloud-a",
      destinations: [
        { route: "10.43.0.53/32", ports: web },
        { route: "10.43.0.54/32", ports: sync },
      ],
    },
    {
      tag: "tag:k8s-router-local-a",
      destinations: [
        { route: "10.47.0.53/32", ports: web },
        { route: "10.47.0.54/32", ports: sync },
      ],
    },
  ],
  exitNodeTags: [],
};

describe("tailnetPolicy", () => {
  it("auto-approves each route for its own router's tag only", () => {
    assert.deepEqual(tailnetPolicy(args).autoApprovers, {
      routes: {
        "10.43.0.53/32": ["tag:k8s-router-cloud-a"],
        "10.43.0.54/32": ["tag:k8s-router-cloud-a"],
        "10.47.0.53/32": ["tag:k8s-router-local-a"],
        "10.47.0.54/32": ["tag:k8s-router-local-a"],
      },
    });
  });

  it("names the owners of every router's tag and defines the admins group", () => {
    const policy = tailnetPolicy(args);
    assert.deepEqual(policy.tagOwners, {
      "tag:k8s-router-cloud-a": ["autogroup:admin"],
      "tag:k8s-router-local-a": ["autogroup:admin"],
    });
    assert.deepEqual(policy.groups, { "group:admins": ["admin@example.com"] });
  });

  it("lets the admins reach each route on its own ports only, one grant per set of ports", () => {
    assert.deepEqual(tailnetPolicy(args).grants, [
      { src: ["group:admins"], dst: ["10.43.0.53/32", "10.47.0.53/32"], ip: ["tcp:80", "tcp:443"] },
      { src: ["group:admins"], dst: ["10.43.0.54/32", "10.47.0.54/32"], ip: ["tcp:22000", "udp:22000"] },
    ]);
  });

  it("grants nothing to the routers' or relays' tags", () => {
    const policy = tailnetPolicy({ ...args, exitNodeTags: ["tag:vpn-relay"] });
    for (const grant of policy.grants as { src: string[] }[]) assert.deepEqual(grant.src, ["group:admins"]);
  });

  it("auto-approves exit nodes of the given tags, owned like the router tags, and lets the admins use them", () => {
    const policy = tailnetPolicy({ ...args, exitNodeTags: ["tag:vpn-relay"] });
    assert.deepEqual((policy.autoApprovers as Record<string, unknown>).exitNode, ["tag:vpn-relay"]);
    assert.deepEqual((policy.tagOwners as Record<string, unknown>)["tag:vpn-relay"], ["autogroup:admin"]);
    assert.deepEqual((policy.grants as unknown[])[2], {
      src: ["group:admins"],
      dst: ["autogroup:internet"],
      ip: ["*"],
    });
  });

  it("refuses a route approved for two routers, and a tag shared by two routers", () => {
    const [first, second] = args.routers as [
      TailnetPolicyArgs["routers"][0],
      TailnetPolicyArgs["routers"][0],
    ];
    assert.throws(
      () => tailnetPolicy({ ...args, routers: [first, { ...second, destinations: first.destinations }] }),
      /10\.43\.0\.53\/32, 10\.43\.0\.54\/32 would be approved for more than one router/,
    );
    assert.throws(
      () => tailnetPolicy({ ...args, routers: [first, { ...second, tag: first.tag }] }),
      /tag:k8s-router-cloud-a would tag more than one router/,
    );
  });
});
