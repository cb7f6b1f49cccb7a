import * as k8s from "@pulumi/kubernetes";
import { getSharedEnvironment } from "./shared";

let provider: k8s.Provider | undefined;

/**
 * The Kubernetes provider bound to this server's kube context. Every Kubernetes resource goes
 * through it, so a stack can never touch another server's cluster through the ambient kubeconfig.
 */
export function getKubernetesProvider(): k8s.Provider {
  if (!provider) {
    const { server } = getSharedEnvironment();
    provider = new k8s.Provider("kubernetes", {
      context: server.kubeContext,
      enableServerSideApply: true,
      deleteUnreachable: false,
    });
  }
  return provider;
}
