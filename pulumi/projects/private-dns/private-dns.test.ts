import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { images } from "@infra/core";
import { identityLabel } from "@infra/k8s";
import { privateDnsPods, reservedServiceAddress } from "@projects/common";
import { container } from "@tools/synth/src/e2e/app-output";
import {
  type ExampleOutput,
  exampleStacks,
  placement,
  synthExampleStacks,
} from "@tools/synth/src/e2e/example-stacks";
import { canReach, egressPaths, openPaths } from "@tools/synth/src/reachability";
import { knotPaths, knotPort, renderKnotConf, zoneFileName } from "./src/knot-conf";
import { knotdSkip, startKnotd } from "./src/testing/knotd";

const project = "private-dns";
let output: ExampleOutput;
before(
  async () => {
    output = await synthExampleStacks([project]);
  },
  { timeout: 600_000 },
);
after(() => output?.remove());

const stacks = placement(project);
const manifest = (stack: string, kind: string, name: string) => output.manifest(stack, project, kind, name);
const zoneOf = (stack: string) => output.outputs(stack, "shared").privateDomain as string;
const configOf = (stack: string) =>
  manifest(stack, "ConfigMap", "knot-config").data as Record<string, string>;
const fixedAddress = (stack: string) =>
  reservedServiceAddress(output.outputs(stack, "shared").network.serviceCidr, "private-dns");

/** Every private name the site's servers hold: what each server's monitoring stack gathered. */
function siteNames(): { hostname: string; address: string; server: string }[] {
  return stacks
    .flatMap((server) =>
      (
        output.outputs(server, "monitoring").serverPrivateNames as { hostname: string; address: string }[]
      ).map((name) => ({ ...name, server })),
    )
    .sort((a, b) => a.hostname.localeCompare(b.hostname));
}

describe("the private DNS on the example stacks", () => {
  it("runs on every server", () => {
    assert.deepEqual(stacks, exampleStacks);
  });

  it("passes synth's validation: schemas, selectors, mounts and references of its objects", () => {
    assert.deepEqual(
      output.problems.filter((problem) => problem.includes(project)),
      [],
    );
  });

  it("serves the same zone on every server, so that any one answers while the others are down", () => {
    const [first, ...others] = stacks.map((stack) => configOf(stack)[zoneFileName]);
    for (const zone of others) assert.equal(zone, first);
  });

  for (const stack of stacks) {
    describe(stack, () => {
      it("serves every private name of every server, each with the address its server gives it", () => {
        const names = siteNames();
        assert.ok(
          names.some((name) => name.server !== stack),
          "names of the other servers too",
        );
        assert.ok(names.some((name) => name.hostname.startsWith("vault.")));
        assert.deepEqual(output.outputs(stack, project).names, names);
        assert.equal(output.outputs(stack, project).zone, zoneOf(stack));
      });

      it("ships the knot.conf the renderer gives for the zone, and the zone file beside it", () => {
        const data = configOf(stack);
        assert.deepEqual(Object.keys(data).sort(), ["knot.conf", zoneFileName].sort());
        assert.equal(data["knot.conf"], renderKnotConf({ zone: zoneOf(stack) }));
      });

      it("answers on the server's fixed address, port 53 over UDP and TCP, which the tailnet's split DNS queries", () => {
        const service = manifest(stack, "Service", privateDnsPods.workload);
        assert.equal(service.metadata.namespace, privateDnsPods.namespace);
        assert.equal(service.spec.clusterIP, fixedAddress(stack));
        assert.equal(output.outputs(stack, project).address, fixedAddress(stack));
        assert.deepEqual(
          service.spec.ports.map((port: Record<string, unknown>) => [
            port.port,
            port.protocol,
            port.targetPort,
          ]),
          [
            [53, "UDP", "dns"],
            [53, "TCP", "dns-tcp"],
          ],
        );
        assert.deepEqual(service.spec.selector, privateDnsPods.labels);
        const split = stacks
          .flatMap((owner) => output.resources(owner, "internal-gateway"))
          .find((resource) => resource.type === "tailscale:index/dnsSplitNameservers:DnsSplitNameservers");
        assert.ok(split, "the tailnet policy's owner creates the split DNS");
        assert.equal(split.inputs.domain, zoneOf(stack));
        assert.ok(
          split.inputs.nameservers.includes(fixedAddress(stack)),
          split.inputs.nameservers.join(", "),
        );
      });

      it("runs the pinned Knot as its own non-root user on a read-only root, with scratch directories only", () => {
        const deployment = manifest(stack, "Deployment", privateDnsPods.workload);
        const knot = container(deployment);
        const pod = deployment.spec.template.spec;
        assert.equal(knot.image, images.knot);
        assert.match(images.knot, /^cznic\/knot:v3\.\d+\.\d+$/);
        assert.deepEqual(knot.command, ["knotd", "-c", `${knotPaths.config}/knot.conf`]);
        assert.equal(pod.securityContext.runAsUser, 53);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(knot.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(knot.securityContext.capabilities, { drop: ["ALL"] });
        assert.deepEqual(
          knot.ports.map((port: Record<string, unknown>) => [port.name, port.containerPort, port.protocol]),
          [
            ["dns", knotPort, "UDP"],
            ["dns-tcp", knotPort, "TCP"],
          ],
        );
        const mounts = Object.fromEntries(
          knot.volumeMounts.map((mount: Record<string, string>) => [mount.mountPath, mount.name]),
        );
        const volumes = Object.fromEntries(
          pod.volumes.map((volume: Record<string, any>) => [volume.name, volume]),
        );
        assert.equal(volumes[mounts[knotPaths.config]].configMap.name, "knot-config");
        assert.ok(volumes[mounts[knotPaths.rundir]].emptyDir);
        assert.ok(volumes[mounts[knotPaths.storage]].emptyDir);
        // knotd keeps the parsed knot.conf under /tmp: without a scratch /tmp it would not start.
        assert.ok(volumes[mounts[knotPaths.tmp]].emptyDir);
        // A changed name changes the ConfigMap, whose checksum on the pod rolls it out.
        assert.match(
          deployment.spec.template.metadata.annotations["checksum.infra/config-0"],
          /^[0-9a-f]{16}$/,
        );
        assert.deepEqual(knot.readinessProbe.tcpSocket, { port: "dns-tcp" });
      });

      it("is reached from the tailnet only, through the subnet router, on DNS; and sends nothing but the cluster's DNS baseline", () => {
        const model = output.model(stack);
        const knot = `${privateDnsPods.namespace}/${privateDnsPods.workload}`;
        for (const protocol of ["UDP", "TCP"] as const) {
          assert.equal(canReach(model, "tailnet", `service:${knot}`, 53, protocol), true, protocol);
        }
        // The router's pods are the tailnet's way in (`tailnet` stands for them); the node (on k3s
        // also the API server's identity) runs the kubelet's probes.
        const gateway = output.outputs(stack, "internal-gateway");
        const router = `${gateway.namespace}/${gateway.routerPodLabels[identityLabel]}`;
        for (const path of openPaths(model, knot)) {
          const via = `${path.from} → ${knot}:${path.port}/${path.protocol}`;
          const node = path.from === "host" || path.from === "kube-apiserver";
          assert.ok(node || path.from === "tailnet" || path.from === router, via);
          if (!node) assert.equal(path.port, knotPort, via);
        }
        for (const path of egressPaths(model, knot)) {
          assert.ok(
            path.to === "kube-system/coredns" && path.port === 53,
            `${knot} → ${path.to}:${path.port}/${path.protocol}`,
          );
        }
      });

      it("answers every private name of the site with its address, for real (knotd serving this stack's zone file)", {
        skip: knotdSkip(),
      }, async () => {
        const zone = zoneOf(stack);
        const knotd = await startKnotd(zone, configOf(stack)[zoneFileName] as string);
        try {
          for (const name of siteNames()) {
            for (const transport of ["udp", "tcp"] as const) {
              const answer = await knotd.query(name.hostname, "A", transport);
              assert.equal(answer.status, "NOERROR", answer.output);
              assert.ok(answer.flags.includes("aa"), answer.output);
              assert.deepEqual(answer.answer, [`${name.hostname}. 60 IN A ${name.address}`]);
            }
          }
          const nameserver = await knotd.query(`ns.${stack}.${zone}`, "A", "udp");
          assert.deepEqual(nameserver.answer, [`ns.${stack}.${zone}. 60 IN A ${fixedAddress(stack)}`]);
        } finally {
          await knotd.stop();
        }
      });
    });
  }
});
