import { charts } from "@infra/core";
import { createHelmRelease, getExistingNamespace } from "@infra/k8s";
import { getKubernetesProviderBeforeCni, getSharedEnvironment } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import { createBaselinePolicies } from "./baseline";
import { ciliumValues } from "./values";

const provider = getKubernetesProviderBeforeCni();
const { server, network } = getSharedEnvironment();

// Cilium belongs in kube-system, which the cluster already has.
const kubeSystem = getExistingNamespace("kube-system", provider);

const release = createHelmRelease({
  name: "cilium",
  namespace: kubeSystem,
  chart: charts.cilium,
  values: pulumi.all([server, network]).apply(([facts, ranges]) => ciliumValues(facts, ranges)),
});

const policies = createBaselinePolicies(provider, release);

export const ciliumVersion = charts.cilium.version;
export const policyEnforcementMode = "always";
export const baselinePolicies = policies.map((policy) => policy.metadata.name);
