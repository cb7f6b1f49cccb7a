import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { charts } from "@infra/core";
import { parse } from "yaml";
import {
  type ExampleOutput,
  exampleStacks,
  synthExampleStacks,
  wildcardCertificateRef,
} from "./example-stacks";

const project = "kubernetes-dashboard";
const namespace = "kubernetes-dashboard";
const kong = {
  "app.kubernetes.io/name": "kong",
  "app.kubernetes.io/component": "app",
  "app.kubernetes.io/instance": "kubernetes-dashboard",
};

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([project]);
});
after(() => output.remove());

const policies = (stack: string) =>
  output.manifests(stack, project).filter((object) => object.kind === "CiliumNetworkPolicy");

describe("the kubernetes-dashboard layer of the example stacks", () => {
  it("synthesizes and validates without a problem", () => {
    assert.deepEqual(output.problems, []);
  });

  it("installs the pinned chart from its repository into its own namespace", () => {
    for (const stack of exampleStacks) {
      const release = output.release(stack, project);
      assert.equal(release.chart, "kubernetes-dashboard");
      assert.equal(release.version, charts.kubernetesDashboard.version);
      assert.deepEqual(release.repositoryOpts, { repo: "https://kubernetes.github.io/dashboard" });
      assert.equal(release.name, "kubernetes-dashboard");
      assert.equal(release.namespace, namespace);
      output.manifest(stack, project, "Namespace", namespace);
    }
  });

  it("serves Kong on plain HTTP, one port for Service and pods, behind the gateway's TLS", () => {
    for (const stack of exampleStacks) {
      const { values } = output.release(stack, project);
      assert.deepEqual(values.kong.proxy, {
        http: { enabled: true, servicePort: 8000, containerPort: 8000 },
        tls: { enabled: false },
      });
      assert.equal(values.app.settings.global.clusterName, stack);
    }
  });

  it("routes dashboard.<server>.<private domain> to Kong's Service on that port, in the tailnet only, with the server's wildcard certificate, recorded for the private DNS", () => {
    for (const stack of exampleStacks) {
      const { privateDomain } = output.outputs(stack, "shared");
      const hostname = `dashboard.${stack}.${privateDomain}`;
      const exposure = output.exposure(stack, project, "kubernetes-dashboard");
      assert.deepEqual(exposure.hostnames, [hostname]);
      assert.deepEqual(exposure.rules[0]?.backendRefs, [
        { group: "", kind: "Service", name: "kubernetes-dashboard-kong-proxy", port: 8000 },
      ]);
      assert.equal(exposure.gatewayClass, "internal");
      assert.deepEqual(exposure.certificateRefs, [wildcardCertificateRef]);
      assert.equal(exposure.record, undefined);
      assert.equal(exposure.privateAddress, output.outputs(stack, "internal-gateway").clusterIp);
      assert.deepEqual(
        output.resources(stack, project).filter((each) => /DnsRecord|Certificate$/.test(each.type)),
        [],
      );
      assert.equal(output.outputs(stack, project).url, `https://${hostname}`);
    }
  });

  it("lets nothing from outside the namespace reach Kong but the internal gateway's Traefik, on Kong's port", () => {
    for (const stack of exampleStacks) {
      const gateway = output.outputs(stack, "internal-gateway");
      const ingress = policies(stack).flatMap((policy) =>
        (policy.spec.ingress ?? []).map((rule: Record<string, any>) => ({
          subject: policy.spec.endpointSelector,
          rule,
        })),
      );
      assert.deepEqual(ingress, [
        // Every pod of the namespace from every pod of the namespace (the policy's own namespace only).
        { subject: {}, rule: { fromEndpoints: [{ matchLabels: {} }] } },
        {
          subject: { matchLabels: kong },
          rule: {
            fromEndpoints: [
              {
                matchLabels: {
                  "app.kubernetes.io/name": gateway.podLabels["app.kubernetes.io/name"],
                  "k8s:io.kubernetes.pod.namespace": gateway.namespace,
                },
              },
            ],
            toPorts: [{ ports: [{ port: "8000", protocol: "TCP" }] }],
          },
        },
      ]);
    }
  });

  it("lets the dashboard's own pods, not Kong, call the API server on 6443", () => {
    for (const stack of exampleStacks) {
      const apiServer = output.manifest(stack, project, "CiliumNetworkPolicy", "dashboard-to-api-server");
      assert.deepEqual(apiServer.spec.endpointSelector, {
        matchLabels: {
          "app.kubernetes.io/part-of": "kubernetes-dashboard",
          "app.kubernetes.io/instance": "kubernetes-dashboard",
        },
      });
      assert.deepEqual(apiServer.spec.egress, [
        { toEntities: ["kube-apiserver"], toPorts: [{ ports: [{ port: "6443", protocol: "TCP" }] }] },
      ]);
    }
  });

  it("gives the login account a read-only role without Secrets, and no admin binding, as the example stacks ask", () => {
    for (const stack of exampleStacks) {
      assert.equal(output.config(stack, project)["kubernetes-dashboard:admin"], false);
      const role = output.manifest(stack, project, "ClusterRole", "dashboard-read-only");
      for (const rule of role.rules as Record<string, string[]>[]) {
        assert.deepEqual(rule.verbs, ["get", "list", "watch"]);
        assert.ok(!rule.resources?.includes("secrets") && !rule.resources?.includes("*"));
      }
      const bindings = output
        .manifests(stack, project)
        .filter((object) => object.kind === "ClusterRoleBinding");
      assert.deepEqual(
        bindings.map((binding) => [binding.roleRef.name, binding.subjects]),
        [["dashboard-read-only", [{ kind: "ServiceAccount", name: "dashboard-user", namespace }]]],
      );
      assert.equal(output.outputs(stack, project).access, "read-only");
    }
  });

  it("has a token task that asks the stack's cluster for a one-hour token of the exported login account", () => {
    const taskfile = parse(
      readFileSync(join(resolve(__dirname, "..", "..", "..", ".."), "taskfiles", "dashboard.yml"), "utf8"),
    );
    for (const stack of exampleStacks) {
      const exported = output.outputs(stack, project);
      assert.equal(taskfile.vars.NAMESPACE, exported.namespace);
      assert.equal(taskfile.vars.SERVICE_ACCOUNT, exported.serviceAccount);
    }
    assert.deepEqual(taskfile.tasks.token.cmds, [
      "kubectl --context {{.STACK}} -n {{.NAMESPACE}} create token {{.SERVICE_ACCOUNT}} --duration 1h",
    ]);
  });
});
