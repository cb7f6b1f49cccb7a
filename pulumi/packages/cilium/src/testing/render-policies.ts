import assert from "node:assert/strict";
import {
  createNamespace,
  createWorkload,
  createWorkloadService,
  type Workload,
  type WorkloadService,
} from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";

/** A test cluster's provider and namespaces, for programs rendered by `renderPolicies`. */
export interface TestCluster {
  provider: k8s.Provider;
  /** The namespace of this name (created once per program). */
  namespace(name: string): k8s.core.v1.Namespace;
  /** A Deployment named `name` in namespace `namespace`. */
  workload(namespace: string, name: string): Workload;
  /** A Deployment and its Service on `port`. */
  service(namespace: string, name: string, port: number): WorkloadService;
}

function testCluster(): TestCluster {
  const provider = new k8s.Provider("cluster", { context: "test" });
  const namespaces = new Map<string, k8s.core.v1.Namespace>();
  const namespace = (name: string) => {
    const existing = namespaces.get(name);
    if (existing) return existing;
    const created = createNamespace({ name, provider });
    namespaces.set(name, created);
    return created;
  };
  const image = "example/app:1.0.0";
  return {
    provider,
    namespace,
    workload: (ns, name) => createWorkload({ name, namespace: namespace(ns), container: { image } }),
    service: (ns, name, port) =>
      createWorkloadService({ name, namespace: namespace(ns), port, container: { image } }),
  };
}

export interface RenderedPolicies {
  /** Every Kubernetes object the program rendered. */
  manifests: Record<string, unknown>[];
  /** The Cilium policies, each already checked against its vendored CRD. */
  policies: Record<string, any>[];
  /** The one policy of this name. */
  policy(name: string): Record<string, any>;
}

const policyKinds = ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"];

/**
 * Renders a program under synth's mock runtime and checks every Cilium policy it creates
 * against the vendored CRD (unknown fields rejected), so each test also proves its policies
 * would be accepted by the API server.
 */
export async function renderPolicies(program: (cluster: TestCluster) => unknown): Promise<RenderedPolicies> {
  const rendered = await render(() => program(testCluster()));
  assert.deepEqual(rendered.errors, []);
  const policies = rendered.manifests.filter((object) => policyKinds.includes(String(object.kind))) as Record<
    string,
    any
  >[];
  assert.ok(policies.length > 0, "the program rendered no Cilium policy");
  for (const policy of policies) {
    const problems = await validateObjectSchema(policy);
    assert.deepEqual(problems, [], `${policy.kind} ${policy.metadata.name} does not fit the vendored CRD`);
  }
  return {
    manifests: rendered.manifests,
    policies,
    policy(name) {
      const found = policies.filter((policy) => policy.metadata.name === name);
      assert.equal(found.length, 1, `expected one policy named ${name}, found ${found.length}`);
      return found[0] as Record<string, any>;
    },
  };
}

/** The errors a program fails with. */
export async function renderErrors(program: (cluster: TestCluster) => unknown): Promise<string[]> {
  return (await render(() => program(testCluster()))).errors;
}
