import { unwrapSecrets } from "../secrets";
import type { StackSynth } from "../synth";

export const dnsRecordType = "cloudflare:index/dnsRecord:DnsRecord";
const zoneSettingType = "cloudflare:index/zoneSetting:ZoneSetting";

/** Where a DNS record is rendered. */
interface RecordOwner {
  stack: string;
  project: string;
}

/** A record's name as DNS compares it: case-insensitive, without the root's trailing dot. */
export function normalizedName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/**
 * Checks what no single stack can see: two stacks (or two projects, or two resources) that
 * render a DNS record of the same name in the same zone would overwrite each other's record on
 * every deployment, and two that manage a zone's settings would undo each other's. Each problem
 * names the record or zone and every owner.
 */
export function checkCrossStack(results: StackSynth[]): string[] {
  const owners = new Map<string, { zoneId: string; name: string; owners: RecordOwner[] }>();
  for (const result of results) {
    for (const project of result.projects) {
      for (const resource of project.resources) {
        if (resource.type !== dnsRecordType || resource.read) continue;
        const inputs = unwrapSecrets(resource.inputs) as { zoneId?: unknown; name?: unknown };
        if (typeof inputs.zoneId !== "string" || typeof inputs.name !== "string") continue;
        const name = normalizedName(inputs.name);
        const key = `${inputs.zoneId}/${name}`;
        const entry = owners.get(key) ?? { zoneId: inputs.zoneId, name, owners: [] };
        entry.owners.push({ stack: result.stack, project: project.project });
        owners.set(key, entry);
      }
    }
  }
  return [
    ...[...owners.values()]
      .filter((entry) => entry.owners.length > 1)
      .map(
        (entry) =>
          `DNS record "${entry.name}" (zone ${entry.zoneId}) is rendered by ` +
          `${entry.owners.map((owner) => `${owner.stack}/${owner.project}`).join(" and ")}: ` +
          "they would overwrite each other's record; give each stack its own name",
      ),
    ...zoneSettingOwners(results),
  ];
}

/** A zone's settings belong to one stack: two that manage them would undo each other's changes. */
function zoneSettingOwners(results: StackSynth[]): string[] {
  const owners = new Map<string, Set<string>>();
  for (const result of results) {
    for (const project of result.projects) {
      for (const resource of project.resources) {
        if (resource.type !== zoneSettingType || resource.read) continue;
        const { zoneId } = unwrapSecrets(resource.inputs) as { zoneId?: unknown };
        if (typeof zoneId !== "string") continue;
        const entry = owners.get(zoneId) ?? new Set<string>();
        entry.add(`${result.stack}/${project.project}`);
        owners.set(zoneId, entry);
      }
    }
  }
  return [...owners.entries()]
    .filter(([, stacks]) => stacks.size > 1)
    .map(
      ([zoneId, stacks]) =>
        `the settings of zone ${zoneId} are managed by ${[...stacks].join(" and ")}: they would undo each ` +
        "other's changes; let one stack own them",
    );
}
