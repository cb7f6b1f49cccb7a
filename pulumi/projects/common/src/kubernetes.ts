import * as k8s from "@pulumi/kubernetes";
import { getSharedEnvironment } from "./shared";
import { getStack } from "./stack-reference";

let provider: k8s.Provider | undefined;

function createProvider(options: { afterCni: boolean }): k8s.Provider {
  const { server } = getSharedEnvironment();
  return new k8s.Provider(
    "kubernetes",
    { context: server.kubeContext, enableServerSideApply: true, deleteUnreachable: false },
    // Nothing runs on the cluster before its CNI: referencing the cilium layer orders every
    // other cluster layer after it.
    options.afterCni ? { dependsOn: [getStack("cilium")] } : {},
  );
}

/**
 * The Kubernetes provider bound to this server's kube context. Every Kubernetes resource goes
 * through it, so a stack can never touch another server's cluster through the ambient
 * kubeconfig. Layers using it run after the `cilium` layer.
 */
export function getKubernetesProvider(): k8s.Provider {
  provider ??= createProvider({ afterCni: true });
  return provider;
}

/** The same provider for the one layer that installs the CNI itself (`cilium`). */
export function getKubernetesProviderBeforeCni(): k8s.Provider {
  provider ??= createProvider({ afterCni: false });
  return provider;
}
