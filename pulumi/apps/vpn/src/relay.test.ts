import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { container, exampleApp, podSpec } from "@tools/synth/src/e2e/app-output";
import { placement } from "@tools/synth/src/e2e/example-stacks";

// The relays' routing is run for real in relay.netns.test.ts; this file tests what their pods,
// accounts and namespace may do, as synth renders them on the example stacks.
const project = "vpn";
const { output } = exampleApp(project, "cloud-a");

/** Each relay of each example stack it runs on, with its location's name. */
function relays(): { stack: string; location: string; name: string }[] {
  return placement(project).flatMap((stack) =>
    output.config(stack, project)["vpn:locations"].map((location: { name: string }) => ({
      stack,
      location: location.name,
      name: `relay-${location.name}`,
    })),
  );
}

describe("the VPN relays on the example stacks", () => {
  it("run on cloud-a and local-a, two relays and one", () => {
    assert.deepEqual(
      relays().map((relay) => `${relay.stack}/${relay.name}`),
      ["cloud-a/relay-ch-zurich", "cloud-a/relay-se-stockholm", "local-a/relay-nl-amsterdam"],
    );
  });

  it("live in the vpn namespace, privileged in every Pod Security mode because they need the host's TUN device, NET_ADMIN, root and forwarding sysctls", () => {
    for (const stack of placement(project)) {
      const { labels } = output.manifest(stack, project, "Namespace", "vpn").metadata;
      for (const mode of ["enforce", "audit", "warn"]) {
        assert.equal(labels[`pod-security.kubernetes.io/${mode}`], "privileged", `${stack} ${mode}`);
      }
    }
    for (const { stack, name } of relays()) {
      const spec = podSpec(output.manifest(stack, project, "Deployment", name));
      assert.deepEqual(spec.volumes.find((volume: Record<string, any>) => volume.hostPath)?.hostPath, {
        path: "/dev/net/tun",
        type: "CharDevice",
      });
      assert.deepEqual(
        spec.securityContext.sysctls.map((sysctl: { name: string }) => sysctl.name),
        ["net.ipv4.ip_forward", "net.ipv4.conf.all.src_valid_mark", "net.ipv4.conf.all.rp_filter"],
      );
    }
  });

  it("give both containers NET_ADMIN and no other capability, as root without privilege escalation", () => {
    for (const { stack, name } of relays()) {
      const deployment = output.manifest(stack, project, "Deployment", name);
      assert.equal(podSpec(deployment).securityContext.runAsNonRoot, false);
      assert.equal(podSpec(deployment).securityContext.seccompProfile.type, "RuntimeDefault");
      for (const containerName of ["tailscale", "upstream"]) {
        assert.deepEqual(container(deployment, containerName).securityContext, {
          allowPrivilegeEscalation: false,
          capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] },
        });
      }
    }
  });

  it("have Tailscale program its firewall through nftables, which NET_ADMIN alone allows", () => {
    for (const { stack, name } of relays()) {
      const tailscale = container(output.manifest(stack, project, "Deployment", name), "tailscale");
      const variables = Object.fromEntries(
        tailscale.env.map((variable: { name: string; value?: string }) => [variable.name, variable.value]),
      );
      assert.equal(variables.TS_DEBUG_FIREWALL_MODE, "nftables");
      assert.equal(variables.TS_KUBE_SECRET, `${name}-tailscale-state`);
    }
  });

  it("keep each relay's node state in a Secret made for it, the only Secret its account may change, and create none", () => {
    for (const { stack, name } of relays()) {
      assert.deepEqual(
        output.manifest(stack, project, "Secret", `${name}-tailscale-state`).stringData ?? {},
        {},
      );
      assert.deepEqual(output.manifest(stack, project, "Role", name).rules, [
        {
          apiGroups: [""],
          resources: ["secrets"],
          verbs: ["get", "update", "patch"],
          resourceNames: [`${name}-tailscale-state`],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["get", "create", "patch"] },
      ]);
    }
  });

  it("reserve CPU and memory for both containers, cap their memory, and cap the CPU of the upstream only, which carries no packets itself", () => {
    for (const { stack, name } of relays()) {
      const deployment = output.manifest(stack, project, "Deployment", name);
      assert.deepEqual(container(deployment, "tailscale").resources, {
        requests: { cpu: "10m", memory: "64Mi" },
        limits: { memory: "256Mi" },
      });
      assert.deepEqual(container(deployment, "upstream").resources, {
        requests: { cpu: "5m", memory: "16Mi" },
        limits: { memory: "64Mi", cpu: "100m" },
      });
    }
  });
});
