import type { ResourceRecord } from "../run-program";
import { redactSecrets } from "../secrets";
import type { StackSynth } from "../synth";
import { manifestsOf } from "../write";
import type { HelmRelease } from "./charts";

/** What one project of a synthesized stack puts on the cluster. */
export interface ProjectObjects {
  project: string;
  /** Its Kubernetes objects, as written to manifests.yaml. */
  manifests: Record<string, unknown>[];
  /** Its Helm releases, whose pods only the chart knows. */
  releases: HelmRelease[];
  /** The namespaces it creates or puts objects in. */
  namespaces: Set<string>;
}

const releaseType = "kubernetes:helm.sh/v3:Release";

function releaseOf(resource: ResourceRecord): HelmRelease {
  const inputs = redactSecrets(resource.inputs) as Record<string, any>;
  return {
    name: String(inputs.name ?? resource.name),
    namespace: String(inputs.namespace ?? "default"),
    chart: String(inputs.chart),
    values: (inputs.values ?? {}) as Record<string, unknown>,
  };
}

/** Each project's objects, releases and namespaces: the input of `buildModel` for a whole stack. */
export function stackObjects(stack: StackSynth): ProjectObjects[] {
  return stack.projects.map((project) => {
    const manifests = manifestsOf(project);
    const releases = project.resources
      .filter((resource) => resource.type === releaseType && !resource.read)
      .map(releaseOf);
    const namespaces = new Set<string>(releases.map((release) => release.namespace));
    for (const object of manifests as Record<string, any>[]) {
      if (object.kind === "Namespace") namespaces.add(String(object.metadata?.name));
      else if (object.metadata?.namespace) namespaces.add(String(object.metadata.namespace));
    }
    return { project: project.project, manifests, releases, namespaces };
  });
}
