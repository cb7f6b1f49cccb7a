import type { ResourceRecord } from "../run-program";
import { unwrapSecrets } from "../secrets";
import type { StackSynth } from "../synth";
import { isKubernetesObject } from "../write";
import type { ValidationCache } from "./cache";
import { dnsRecordType } from "./cross-stack";
import { validateHelmValues } from "./helm-values";
import { checkMeaning, type StackObject, type StackRelease } from "./meaning";
import { validateObjectSchema } from "./object-schemas";
import { checkPublicExposure, type StackDnsRecord } from "./public-exposure";

const helmReleaseType = "kubernetes:helm.sh/v3:Release";

function describe(object: Record<string, any>): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${object.metadata?.name}`;
}

/**
 * A default provider's reference is `<urn ending ::default or ::default_<version>>::<id>`; an
 * explicit provider may have a name that merely starts with "default" ("default-cluster").
 */
const defaultProviderReference = /::pulumi:providers:kubernetes::default(_[^:]*)?::/;

function usesDefaultProvider(resource: ResourceRecord): boolean {
  return (
    resource.type.startsWith("kubernetes:") &&
    (!resource.provider || defaultProviderReference.test(resource.provider))
  );
}

/**
 * Validates a synthesized stack: every Kubernetes object against its upstream schema, every
 * Helm release's values against its chart's schema, and the meaning of the whole stack
 * (selectors, mounts, references, namespaces, explicit providers). Each problem names the
 * stack, project, object and field.
 */
export async function validateStack(result: StackSynth, cache?: ValidationCache): Promise<string[]> {
  const problems: string[] = [];
  const objects: StackObject[] = [];
  const existing = new Set<string>();
  const releases: StackRelease[] = [];
  const records: StackDnsRecord[] = [];
  for (const project of result.projects) {
    const where = `${result.stack}/${project.project}`;
    for (const resource of project.resources) {
      if (usesDefaultProvider(resource)) {
        problems.push(
          `${where}: ${resource.type} ${resource.name}: provider: uses the default provider (ambient kubeconfig)`,
        );
      }
      const inputs = unwrapSecrets(resource.inputs) as Record<string, any>;
      if (resource.type === dnsRecordType && !resource.read && typeof inputs.name === "string") {
        records.push({ project: project.project, name: inputs.name, proxied: inputs.proxied === true });
      }
      if (resource.read && resource.type === "kubernetes:core/v1:Namespace")
        existing.add(`Namespace//${resource.id ?? resource.name}`);
      if (resource.type === helmReleaseType) {
        releases.push({
          project: project.project,
          name: inputs.name ?? resource.name,
          chart: inputs.chart,
          namespace: inputs.namespace,
          values: inputs.values ?? {},
        });
        const release = { chart: inputs.chart, version: inputs.version, values: inputs.values };
        if (!cache?.has(release)) {
          const found = validateHelmValues(inputs.chart, inputs.version, inputs.values);
          for (const problem of found) {
            problems.push(
              `${where}: HelmRelease ${inputs.namespace}/${inputs.name ?? resource.name}: ${problem}`,
            );
          }
          if (found.length === 0) cache?.add(release);
        }
      }
      if (!isKubernetesObject(resource)) continue;
      objects.push({ project: project.project, object: inputs });
      if (cache?.has(inputs)) continue;
      const found = await validateObjectSchema(inputs);
      for (const problem of found) problems.push(`${where}: ${describe(inputs)}: ${problem}`);
      if (found.length === 0) cache?.add(inputs);
    }
  }
  for (const problem of [
    ...checkMeaning(objects, existing, releases),
    ...checkPublicExposure(objects, records),
  ]) {
    problems.push(`${result.stack}/${problem.project}: ${problem.message}`);
  }
  return problems;
}
