import assert from "node:assert/strict";
import { isIP } from "node:net";
import { after, before, describe, it } from "node:test";
import { cidrContains, cidrRange, readServers } from "@infra/core";
import { addressInCidr, canReach, egressPaths, type Model, probeSources } from "../reachability";
import { env } from "./app-output";
import {
  type ExampleOutput,
  exampleStacks,
  placement,
  setConfig,
  synthExampleStacks,
} from "./example-stacks";

const gateway = "internal-gateway";
const keyType = "tailscale:index/tailnetKey:TailnetKey";
/** The stack whose shared project owns the tailnet policy in the example config. */
/** The server whose stack owns the tailnet policy (servers/site.json). */
const policyOwner = readServers().site?.tailnet.policyOwner ?? "";
/** The relays' tag the vpn project uses when `vpn:tag` is not set, as in the examples. */
const relayTag = "tag:vpn-relay";

/** The `index`th address of a range, computed here rather than with the code under test. */
function addressAt(range: string, index: number): string {
  const value = (cidrRange(range)[0] as number) + index;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/** Not the public internet: private networks, shared address space and link-local (RFC 1918, 6598, 3927). */
const nonPublic = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"];
const isPublicAddress = (address: string) =>
  isIP(address) === 4 && !nonPublic.some((range) => addressInCidr(address, range));

const flowKey = (flow: { to: string; port: number; protocol: string }) =>
  `${flow.to}:${flow.port}/${flow.protocol}`;

describe("the tailnet", () => {
  let output: ExampleOutput;
  const network = (stack: string) =>
    output.outputs(stack, "shared").network as { serviceCidr: string; clusterDnsIp: string };
  const policy = () => {
    const [acl] = output
      .resources(policyOwner, gateway)
      .filter((resource) => resource.type === "tailscale:index/acl:Acl");
    assert.ok(acl, `${policyOwner} manages no tailnet policy`);
    return JSON.parse(acl.inputs.acl);
  };
  const relayStacks = () => placement("vpn");

  before(async () => {
    // The private DNS too: the split DNS sends the private zone's queries to it through the routers.
    output = await synthExampleStacks([gateway, "vpn", "syncthing", "private-dns"]);
    assert.deepEqual(output.problems, []);
  });
  after(() => output?.remove());

  it("has each server's router advertise the fixed addresses of its range, each a /32, and nothing else of it: the internal gateway's, the private DNS's and Syncthing's", () => {
    for (const stack of exampleStacks) {
      const range = network(stack).serviceCidr;
      const routes = [53, 55, 54].map((index) => `${addressAt(range, index)}/32`);
      assert.deepEqual(output.outputs(stack, gateway).advertisedRoutes, routes, stack);
      assert.equal(
        env(output.manifest(stack, gateway, "Deployment", "tailscale-router")).TS_ROUTES,
        routes.join(","),
      );
      // The API server's service address and the cluster DNS lie in the range, outside every route.
      for (const address of [addressAt(range, 1), network(stack).clusterDnsIp]) {
        assert.ok(
          routes.every((route) => !cidrContains(route, address)),
          `${stack} routes ${address}`,
        );
      }
    }
  });

  it("tags each server's router with a tag of its own, on its auth key and as the device advertises it", () => {
    for (const stack of exampleStacks) {
      const tag = `tag:k8s-router-${stack}`;
      assert.equal(output.outputs(stack, gateway).routerTag, tag);
      const [key] = output.resources(stack, gateway).filter((resource) => resource.type === keyType);
      assert.deepEqual(key?.inputs.tags, [tag]);
      assert.equal(
        env(output.manifest(stack, gateway, "Deployment", "tailscale-router")).TS_EXTRA_ARGS,
        `--advertise-tags=${tag}`,
      );
    }
  });

  describe("policy", () => {
    it("approves each server's routes for that server's router only, as each server advertises them", () => {
      const expected = Object.fromEntries(
        exampleStacks.flatMap((stack) => {
          const { advertisedRoutes, routerTag } = output.outputs(stack, gateway);
          return (advertisedRoutes as string[]).map((route) => [route, [routerTag]]);
        }),
      );
      assert.deepEqual(policy().autoApprovers.routes, expected);
    });

    it("names an owner for every router's tag and the relays' tag, and approves the relays as exit nodes", () => {
      const { tagOwners, autoApprovers } = policy();
      const owners = output.config(policyOwner, gateway)["internal-gateway:tailnetPolicy"].tagOwners;
      assert.deepEqual(tagOwners, {
        ...Object.fromEntries(exampleStacks.map((stack) => [`tag:k8s-router-${stack}`, owners])),
        [relayTag]: owners,
      });
      assert.deepEqual(autoApprovers.exitNode, [relayTag]);
    });

    it("lets the admins reach the gateways' addresses on 80 and 443, the private DNS's on 53 UDP and TCP, Syncthing's on 22000, and the internet through the exit nodes", () => {
      const routes = (index: number) =>
        exampleStacks.map((stack) => `${addressAt(network(stack).serviceCidr, index)}/32`);
      assert.deepEqual(policy().grants, [
        { src: ["group:admins"], dst: routes(53), ip: ["tcp:80", "tcp:443"] },
        { src: ["group:admins"], dst: routes(55), ip: ["udp:53", "tcp:53"] },
        { src: ["group:admins"], dst: routes(54), ip: ["tcp:22000", "udp:22000"] },
        { src: ["group:admins"], dst: ["autogroup:internet"], ip: ["*"] },
      ]);
    });

    it("grants the routers and relays nothing: they answer, and start nothing in the tailnet", () => {
      const platformTags = Object.keys(policy().tagOwners);
      for (const grant of policy().grants as { src: string[] }[]) {
        assert.ok(
          grant.src.every((source) => !platformTags.includes(source)),
          JSON.stringify(grant),
        );
      }
    });
  });

  describe("split DNS", () => {
    const splitDns = (stack: string) =>
      output
        .resources(stack, gateway)
        .filter((resource) => resource.type === "tailscale:index/dnsSplitNameservers:DnsSplitNameservers");

    it("sends every query of the private zone to every server's private DNS, at its fixed address, from the tailnet policy's owner only", () => {
      for (const stack of exampleStacks) {
        assert.equal(splitDns(stack).length, stack === policyOwner ? 1 : 0, stack);
      }
      const [zone] = splitDns(policyOwner);
      assert.deepEqual(zone?.inputs, {
        domain: output.outputs(policyOwner, "shared").privateDomain,
        // Every server's, in the servers' order: while one is down, the next answers for all.
        nameservers: readServers().servers.map((server) => addressAt(server.network.serviceCidr, 55)),
      });
    });

    it("is what each server's private DNS answers on: the Service on its fixed address, 53 over UDP and TCP", () => {
      for (const stack of placement("private-dns")) {
        const service = output.manifest(stack, "private-dns", "Service", "knot");
        assert.equal(service.spec.clusterIP, addressAt(network(stack).serviceCidr, 55));
        assert.deepEqual(
          service.spec.ports.map((port: Record<string, any>) => `${port.port}/${port.protocol}`),
          ["53/UDP", "53/TCP"],
        );
      }
    });
  });

  it("gives routers and relays single-use keys that expire unused after an hour and are never made again", () => {
    const keys = [
      ...exampleStacks.flatMap((stack) => output.resources(stack, gateway)),
      ...relayStacks().flatMap((stack) => output.resources(stack, "vpn")),
    ].filter((resource) => resource.type === keyType);
    const relays = relayStacks().flatMap((stack) => output.config(stack, "vpn")["vpn:locations"]);
    assert.equal(keys.length, exampleStacks.length + relays.length, "a key per router and per relay");
    for (const key of keys) {
      assert.deepEqual(
        [key.inputs.reusable, key.inputs.preauthorized, key.inputs.expiry, key.inputs.recreateIfInvalid],
        [false, true, 3600, "never"],
        key.name,
      );
    }
  });

  it("gives the keys the expiry a stack configures", async () => {
    const router = await output.rerun(
      "cloud-b",
      gateway,
      setConfig(gateway, { router: { tagPrefix: "tag:k8s-router", authKeyExpirySeconds: 600 } }),
    );
    assert.deepEqual(router.errors, []);
    assert.equal(router.resources.find((resource) => resource.type === keyType)?.inputs.expiry, 600);
    const relays = await output.rerun("local-a", "vpn", setConfig("vpn", { authKeyExpirySeconds: 900 }));
    assert.deepEqual(relays.errors, []);
    assert.equal(relays.resources.find((resource) => resource.type === keyType)?.inputs.expiry, 900);
  });

  it("refuses the tailnet policy's former per-range ports, which the fixed addresses' own ports replace", async () => {
    const run = await output.rerun(policyOwner, gateway, (config) => {
      const settings = JSON.parse(config.values["internal-gateway:tailnetPolicy"] ?? "{}");
      config.values["internal-gateway:tailnetPolicy"] = JSON.stringify({ ...settings, ports: ["tcp:443"] });
    });
    assert.match(run.errors.join("\n"), /internal-gateway:tailnetPolicy\.ports is not a setting/);
  });

  describe("reachability", () => {
    const model = (stack: string): Model => output.model(stack);
    const router = "internal-gateway/tailscale-router";
    const relaysOf = (stack: string) =>
      model(stack)
        .endpoints.filter((endpoint) => endpoint.namespace === "vpn" && endpoint.kind === "pod")
        .map((endpoint) => endpoint.name);
    const podsOf = (stack: string) =>
      model(stack)
        .endpoints.filter((endpoint) => endpoint.kind !== "world")
        .map((endpoint) => endpoint.name);

    it("lets the tailnet into the internal gateway's entrypoints, the private DNS's port and Syncthing's sync port, and no other pod", () => {
      for (const stack of exampleStacks) {
        const syncthing = placement("syncthing").includes(stack);
        const reached = egressPaths(model(stack), "tailnet", podsOf(stack)).map(flowKey);
        assert.deepEqual(
          new Set(reached),
          new Set([
            "internal-gateway/traefik:8000/TCP",
            "internal-gateway/traefik:8443/TCP",
            "private-dns/knot:5353/UDP",
            "private-dns/knot:5353/TCP",
            ...(syncthing ? ["syncthing/syncthing:22000/TCP", "syncthing/syncthing:22000/UDP"] : []),
            // The router's own lookups, and the API server for its state Secret (the routes never lead there).
            "kube-system/coredns:53/TCP",
            "kube-system/coredns:53/UDP",
            "host:6443/TCP",
            "kube-apiserver:6443/TCP",
          ]),
          stack,
        );
      }
    });

    it("lets the subnet router forward to the private DNS's pods on their port, UDP and TCP, and to nothing else of its namespace", () => {
      for (const stack of exampleStacks) {
        const routes = output.manifest(stack, gateway, "CiliumNetworkPolicy", "tailscale-router-routes");
        const toDns = (routes.spec.egress as Record<string, any>[]).filter((rule) =>
          JSON.stringify(rule.toEndpoints ?? []).includes('"k8s:io.kubernetes.pod.namespace":"private-dns"'),
        );
        assert.deepEqual(toDns, [
          {
            toEndpoints: [
              {
                matchLabels: {
                  "app.kubernetes.io/name": "knot",
                  "k8s:io.kubernetes.pod.namespace": "private-dns",
                },
              },
            ],
            toPorts: [
              {
                ports: [
                  { port: "5353", protocol: "UDP" },
                  { port: "5353", protocol: "TCP" },
                ],
              },
            ],
          },
        ]);
        for (const protocol of ["UDP", "TCP"] as const) {
          assert.ok(
            canReach(model(stack), "tailnet", "service:private-dns/knot", 53, protocol),
            `${stack} ${protocol}`,
          );
          assert.ok(
            canReach(model(stack), router, "private-dns/knot", 5353, protocol),
            `${stack} ${protocol}`,
          );
        }
      }
    });

    it("reaches Syncthing on its fixed address through its Service, as the granted ports name it", () => {
      const stack = placement("syncthing")[0] as string;
      const service = output.manifest(stack, "syncthing", "Service", "syncthing-tailnet");
      assert.equal(service.spec.clusterIP, addressAt(network(stack).serviceCidr, 54));
      for (const protocol of ["TCP", "UDP"] as const) {
        assert.ok(
          canReach(model(stack), "tailnet", "service:syncthing/syncthing-tailnet", 22000, protocol),
          protocol,
        );
      }
    });

    it("lets Tailscale's pods reach the public internet on 443 and STUN only, peers' WireGuard port anywhere, and relays their VPN server", () => {
      for (const stack of exampleStacks) {
        const world = [
          ...probeSources(model(stack)).filter((source) => source.startsWith("world")),
          "world:203.0.113.77",
          "world:192.168.1.20",
          "world:169.254.169.254",
        ];
        for (const pod of [router, ...relaysOf(stack)]) {
          const open = egressPaths(model(stack), pod, world).filter((flow) => flow.outcome === "allowed");
          const endpoint = pod.startsWith("vpn/")
            ? output
                .config(stack, "vpn")
                ["vpn:locations"].find((location: { name: string }) => `vpn/relay-${location.name}` === pod)
                .endpoint
            : undefined;
          for (const flow of open) {
            const where = flow.to.slice("world:".length);
            const meant =
              (flow.port === 41641 && flow.protocol === "UDP") ||
              (isPublicAddress(where) && flow.port === 443 && flow.protocol === "TCP") ||
              (isPublicAddress(where) && flow.port === 3478 && flow.protocol === "UDP") ||
              (`${where}:${flow.port}` === endpoint && flow.protocol === "UDP");
            assert.ok(meant, `${stack}: ${pod} → ${flowKey(flow)}`);
          }
          assert.ok(canReach(model(stack), pod, "world:203.0.113.77", 443), `${pod} reaches DERP on 443`);
          assert.ok(canReach(model(stack), pod, "world:203.0.113.77", 3478, "UDP"), `${pod} reaches STUN`);
          assert.ok(
            canReach(model(stack), pod, "world:192.168.1.20", 41641, "UDP"),
            `${pod} reaches a LAN peer`,
          );
          assert.equal(
            canReach(model(stack), pod, "world:192.168.1.20", 443),
            false,
            `${pod} reaches the LAN on 443`,
          );
          assert.equal(
            canReach(model(stack), pod, "world:169.254.169.254", 443),
            false,
            `${pod} reaches metadata`,
          );
        }
      }
    });
  });
});
