import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { kubernetesVersion } from "@infra/core";
import { podTemplate } from "./app-output";
import { type ExampleOutput, exampleStacks, synthExampleStacks } from "./example-stacks";

/** The one namespace the platform creates with a looser level than `restricted`, and why (projects/vpn). */
const looserNamespaces: Record<string, string> = { vpn: "privileged" };

let output: ExampleOutput;
before(async () => {
  // Every project: every namespace and pod of the example stacks.
  output = await synthExampleStacks();
});
after(() => output.remove());

/** Every object every project of a stack rendered, with its project. */
function objectsOf(stack: string): { project: string; object: Record<string, any> }[] {
  return output
    .order(stack)
    .flatMap(({ project }) => output.manifests(stack, project).map((object) => ({ project, object })));
}

/** Every pod template of a stack, named `<project>: <Kind> <namespace>/<name>`. */
function podsOf(stack: string): { name: string; namespace: string; spec: Record<string, any> }[] {
  return objectsOf(stack).flatMap(({ project, object }) => {
    const template = podTemplate(object);
    // The spec of a Job that reads a secret is redacted in manifests.yaml as a whole.
    if (!template || typeof template !== "object") return [];
    const { namespace, name } = object.metadata;
    return [{ name: `${project}: ${object.kind} ${namespace}/${name}`, namespace, spec: template.spec }];
  });
}

const containersOf = (spec: Record<string, any>): Record<string, any>[] => [
  ...(spec.initContainers ?? []),
  ...spec.containers,
];

describe("Pod Security and resources on the example stacks", () => {
  it("validates every stack", () => {
    assert.deepEqual(output.problems, []);
  });

  it("holds every namespace a stack creates to a Pod Security level, restricted but for the VPN relays', in every mode at the servers' Kubernetes minor", () => {
    for (const stack of exampleStacks) {
      const namespaces = objectsOf(stack).filter(({ object }) => object.kind === "Namespace");
      assert.ok(namespaces.length > 0, stack);
      for (const { object } of namespaces) {
        const { name, labels } = object.metadata;
        const level = looserNamespaces[name] ?? "restricted";
        for (const mode of ["enforce", "audit", "warn"]) {
          assert.equal(labels[`pod-security.kubernetes.io/${mode}`], level, `${stack} ${name} ${mode}`);
          assert.equal(
            labels[`pod-security.kubernetes.io/${mode}-version`],
            kubernetesVersion,
            `${stack} ${name}`,
          );
        }
      }
    }
  });

  it("runs every pod outside the VPN relays' namespace as a numeric non-root user, with the runtime's seccomp profile, no privilege escalation and no capability", () => {
    for (const stack of exampleStacks) {
      for (const pod of podsOf(stack).filter((candidate) => !(candidate.namespace in looserNamespaces))) {
        const context = pod.spec.securityContext ?? {};
        assert.equal(context.runAsNonRoot, true, pod.name);
        assert.equal(context.seccompProfile?.type, "RuntimeDefault", pod.name);
        assert.equal(pod.spec.hostNetwork, undefined, pod.name);
        for (const container of containersOf(pod.spec)) {
          const user = container.securityContext?.runAsUser ?? context.runAsUser;
          assert.ok(Number.isInteger(user) && user > 0, `${pod.name} ${container.name} runs as ${user}`);
          assert.equal(
            container.securityContext?.allowPrivilegeEscalation,
            false,
            `${pod.name} ${container.name}`,
          );
          assert.deepEqual(
            container.securityContext?.capabilities,
            { drop: ["ALL"] },
            `${pod.name} ${container.name}`,
          );
        }
        assert.equal(
          (pod.spec.volumes ?? []).some((volume: Record<string, any>) => volume.hostPath),
          false,
          pod.name,
        );
      }
    }
  });

  it("reserves CPU and memory for every container of every stack and caps its memory", () => {
    for (const stack of exampleStacks) {
      for (const pod of podsOf(stack)) {
        for (const container of containersOf(pod.spec)) {
          const what = `${stack} ${pod.name} ${container.name}`;
          assert.match(container.resources?.requests?.cpu ?? "", /^\d+m$/, what);
          assert.match(container.resources?.requests?.memory ?? "", /^\d+(Mi|Gi)$/, what);
          assert.match(container.resources?.limits?.memory ?? "", /^\d+(Mi|Gi)$/, what);
        }
      }
    }
  });

  it("gives the charts' containers resources through their values on every stack", () => {
    const limited = (resources: Record<string, any> | undefined, what: string) =>
      assert.ok(resources?.requests?.memory && resources?.limits?.memory, what);
    for (const stack of exampleStacks) {
      const cilium = output.release(stack, "cilium").values;
      for (const path of ["resources", "initResources", "cgroup.autoMount.resources", "cni.resources"]) {
        limited(
          path.split(".").reduce<any>((node, key) => node?.[key], cilium),
          `${stack} cilium ${path}`,
        );
      }
      limited(cilium.operator.resources, `${stack} cilium operator`);
      limited(cilium.envoy.resources, `${stack} cilium envoy`);
      limited(cilium.hubble.relay.resources, `${stack} cilium hubble relay`);
      const certManager = output.release(stack, "cert-manager").values;
      for (const component of [
        certManager,
        certManager.webhook,
        certManager.cainjector,
        certManager.startupapicheck,
      ]) {
        limited(component.resources, `${stack} cert-manager`);
      }
      const dashboard = output.release(stack, "kubernetes-dashboard").values;
      for (const component of ["api", "auth", "web", "metricsScraper"]) {
        limited(dashboard[component].containers.resources, `${stack} dashboard ${component}`);
      }
      limited(dashboard.kong.resources, `${stack} dashboard kong`);
    }
  });

  it("runs both Traefiks with a memory limit and the seccomp profile restricted requires, and the public one's Service without node ports", () => {
    for (const stack of exampleStacks) {
      for (const gateway of ["internal-gateway", "public-gateway"]) {
        const { values } = output.release(stack, gateway);
        assert.deepEqual(values.resources, {
          requests: { cpu: "50m", memory: "64Mi" },
          limits: { memory: "256Mi" },
        });
        assert.deepEqual(values.podSecurityContext, {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          seccompProfile: { type: "RuntimeDefault" },
        });
      }
      const publicService = output.release(stack, "public-gateway").values.service.spec;
      assert.equal(publicService.type, "LoadBalancer");
      assert.equal(publicService.allocateLoadBalancerNodePorts, false);
      assert.equal(
        output.release(stack, "internal-gateway").values.service.spec.allocateLoadBalancerNodePorts,
        undefined,
      );
    }
  });
});
