import { cidrContains } from "@infra/core";
import { nonPublicRanges } from "@infra/tailscale";
import { unwrapSecrets } from "../secrets";
import type { ProjectSynth, StackSynth } from "../synth";
import { isKubernetesObject } from "../write";
import { dnsRecordType, normalizedName } from "./cross-stack";

type Manifest = Record<string, any>;

/** What one stack says about its private names, as its projects rendered and exported them. */
interface StackPrivateFacts {
  stack: string;
  privateDomain: string | undefined;
  /** Hostnames exposed through the internal gateway, by project. */
  privateExposures: { project: string; hostname: string }[];
  /** Names recorded for the private DNS (`privateNames` outputs), by project. */
  privateNames: { project: string; hostname: string }[];
  records: { project: string; name: string; content: string | undefined }[];
  objects: { project: string; object: Manifest }[];
  internalClass: string | undefined;
  wildcard: { namespace: string; secretName: string } | undefined;
}

function outputValue<T>(run: ProjectSynth | undefined, output: string): T | undefined {
  return run?.outputs[output]?.value as T | undefined;
}

function factsOf(result: StackSynth): StackPrivateFacts {
  const byName = new Map(result.projects.map((run) => [run.project, run]));
  const facts: StackPrivateFacts = {
    stack: result.stack,
    privateDomain: outputValue<string>(byName.get("shared"), "privateDomain"),
    privateExposures: [],
    privateNames: [],
    records: [],
    objects: [],
    internalClass: outputValue<string>(byName.get("internal-gateway"), "gatewayClass"),
    wildcard: outputValue(byName.get("internal-gateway"), "wildcardCertificate"),
  };
  for (const run of result.projects) {
    const exposures = outputValue<{ hostname: string; gateway: string }[]>(run, "exposures") ?? [];
    for (const exposure of exposures) {
      if (exposure.gateway === "private") {
        facts.privateExposures.push({ project: run.project, hostname: normalizedName(exposure.hostname) });
      }
    }
    for (const name of outputValue<{ hostname: string }[]>(run, "privateNames") ?? []) {
      facts.privateNames.push({ project: run.project, hostname: normalizedName(name.hostname) });
    }
    for (const resource of run.resources) {
      const inputs = unwrapSecrets(resource.inputs) as Manifest;
      if (resource.type === dnsRecordType && !resource.read && typeof inputs.name === "string") {
        const content = typeof inputs.content === "string" ? inputs.content : undefined;
        facts.records.push({ project: run.project, name: normalizedName(inputs.name), content });
      }
      if (isKubernetesObject(resource)) facts.objects.push({ project: run.project, object: inputs });
    }
  }
  return facts;
}

const isIpv4 = (value: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(value);
const inZone = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

/** Whether a certificate name (`*.zone` or a full name) covers a hostname. */
function covers(certificateName: string, hostname: string): boolean {
  const name = normalizedName(certificateName);
  if (!name.startsWith("*.")) return name === hostname;
  const parent = name.slice(2);
  const label = hostname.endsWith(`.${parent}`) ? hostname.slice(0, -parent.length - 1) : undefined;
  return label !== undefined && label.length > 0 && !label.includes(".");
}

/**
 * No private name is ever public: no Cloudflare record of any stack lies in the private domain,
 * names a private hostname of any stack, or points at an address only the tailnet reaches.
 */
function publicRecordProblems(all: StackPrivateFacts[]): string[] {
  const privateHostnames = new Map<string, string>();
  for (const facts of all) {
    for (const entry of [...facts.privateExposures, ...facts.privateNames]) {
      privateHostnames.set(entry.hostname, `${facts.stack}/${entry.project}`);
    }
  }
  const problems: string[] = [];
  for (const facts of all) {
    for (const record of facts.records) {
      const where = `${facts.stack}/${record.project}: Cloudflare record ${record.name}`;
      if (facts.privateDomain && inZone(record.name, normalizedName(facts.privateDomain))) {
        problems.push(
          `${where} lies in the private domain ${facts.privateDomain}, which only the tailnet's DNS serves`,
        );
      }
      const owner = privateHostnames.get(record.name);
      if (owner) problems.push(`${where} publishes a private name (exposed privately by ${owner})`);
      if (
        record.content &&
        isIpv4(record.content) &&
        nonPublicRanges.some((range) => cidrContains(range, record.content ?? ""))
      ) {
        problems.push(
          `${where} points at ${record.content}, an address only the tailnet or the server's network reaches`,
        );
      }
    }
  }
  return problems;
}

/**
 * Each private listener uses the server's wildcard certificate: its hostname lies in the private
 * domain and one of the wildcard's names covers it, its certificate is the wildcard's Secret, and
 * a ReferenceGrant in the wildcard's namespace lets Gateways of its namespace use that Secret. No
 * Certificate lists a private name other than the wildcards (Certificate Transparency logs are public).
 */
function certificateProblems(facts: StackPrivateFacts): string[] {
  const problems: string[] = [];
  const { privateDomain, wildcard, internalClass } = facts;
  if (!privateDomain || !internalClass) return problems;
  const zone = normalizedName(privateDomain);
  const wildcardNames: string[] = [];
  const grants: Manifest[] = [];
  for (const { project, object } of facts.objects) {
    if (object.kind === "Certificate") {
      const names: string[] = object.spec?.dnsNames ?? [];
      const isWildcard =
        wildcard &&
        object.metadata?.namespace === wildcard.namespace &&
        object.spec?.secretName === wildcard.secretName;
      if (isWildcard) wildcardNames.push(...names);
      for (const name of names) {
        if (inZone(normalizedName(name), zone) && !(isWildcard && name.startsWith("*."))) {
          problems.push(
            `${facts.stack}/${project}: Certificate ${object.metadata?.namespace}/${object.metadata?.name} lists the private name ${name}: private names use the wildcard certificate only`,
          );
        }
      }
    }
    if (object.kind === "ReferenceGrant" && object.metadata?.namespace === wildcard?.namespace)
      grants.push(object);
  }
  for (const { project, object } of facts.objects) {
    if (object.kind !== "Gateway" || object.spec?.gatewayClassName !== internalClass) continue;
    const gatewayNamespace = object.metadata?.namespace;
    const where = `${facts.stack}/${project}: Gateway ${gatewayNamespace}/${object.metadata?.name}`;
    for (const listener of object.spec?.listeners ?? []) {
      if (listener.protocol !== "HTTPS") continue;
      const hostname = normalizedName(String(listener.hostname ?? ""));
      if (!inZone(hostname, zone)) {
        problems.push(
          `${where}: listener ${listener.name} serves ${hostname || "every name"}, outside the private domain ${zone}`,
        );
        continue;
      }
      if (!wildcardNames.some((name) => covers(name, hostname))) {
        problems.push(
          `${where}: listener ${listener.name}: no name of the wildcard certificate (${wildcardNames.join(", ") || "none"}) covers ${hostname}`,
        );
      }
      for (const ref of listener.tls?.certificateRefs ?? []) {
        if (ref.namespace !== wildcard?.namespace || ref.name !== wildcard?.secretName) {
          problems.push(
            `${where}: listener ${listener.name} uses Secret ${ref.namespace ?? gatewayNamespace}/${ref.name}, not the wildcard certificate's ${wildcard?.namespace}/${wildcard?.secretName}`,
          );
          continue;
        }
        const granted = grants.some(
          (grant) =>
            (grant.spec?.from ?? []).some(
              (from: Manifest) =>
                from.kind === "Gateway" &&
                from.group === "gateway.networking.k8s.io" &&
                from.namespace === gatewayNamespace,
            ) &&
            (grant.spec?.to ?? []).some(
              (to: Manifest) =>
                to.kind === "Secret" &&
                (to.group ?? "") === "" &&
                (to.name === undefined || to.name === ref.name),
            ),
        );
        if (!granted) {
          problems.push(
            `${where}: listener ${listener.name}: no ReferenceGrant in ${wildcard?.namespace} lets Gateways of ${gatewayNamespace} use Secret ${ref.name}`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * Every private hostname an exposure serves resolves: some stack records it for the private DNS
 * (the one holding the app's DNS records; a migration's other side serves it without).
 */
function resolvableProblems(all: StackPrivateFacts[]): string[] {
  const recorded = new Set(all.flatMap((facts) => facts.privateNames.map((entry) => entry.hostname)));
  return all.flatMap((facts) =>
    facts.privateExposures
      .filter((exposure) => !recorded.has(exposure.hostname))
      .map(
        (exposure) =>
          `${facts.stack}/${exposure.project}: the private hostname ${exposure.hostname} is in no stack's privateNames: the tailnet's DNS would not resolve it`,
      ),
  );
}

/** The private names' checks over every stack synthesized (private names are site-wide). */
export function checkPrivateNames(results: StackSynth[]): string[] {
  const all = results.map(factsOf);
  return [...publicRecordProblems(all), ...all.flatMap(certificateProblems), ...resolvableProblems(all)];
}
