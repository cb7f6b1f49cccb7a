import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { quantityBytes } from "@infra/core";
import type { HelmRelease } from "./reachability";
import { namespaceMatrix } from "./report-html";

/** One resource as synth writes it to resources.json (inputs with secrets redacted). */
export interface WrittenResource {
  type: string;
  name: string;
  urn: string;
  dependsOn?: string[];
  read?: boolean;
  inputs: Record<string, any>;
}

/** What `--compare` reads of one project's output: its resources and exports. */
export interface ProjectFiles {
  resources: WrittenResource[];
  outputs: Record<string, any>;
}

/** A synth output directory: stack → project → files. */
export type Snapshot = Map<string, Map<string, ProjectFiles>>;

export interface FieldChange {
  /** A JSON path: `spec.resources.requests.storage`, `spec.template.spec.containers[name=app].image`. */
  path: string;
  before?: unknown;
  after?: unknown;
}

/** One object or resource that differs between two outputs. */
export interface Change {
  change: "added" | "removed" | "changed";
  /** `<Kind> <namespace>/<name>` for Kubernetes objects, `<type> <name>` for other resources, `output <name>`. */
  object: string;
  fields: FieldChange[];
  /** Why this change deserves a second look (empty when it does not). */
  risks: string[];
}

export interface ProjectDiff {
  stack: string;
  project: string;
  changes: Change[];
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Reads a synth output directory (the stacks given, or all it holds) into memory. */
export function readSnapshot(outDir: string, stacks?: string[]): Snapshot {
  const snapshot: Snapshot = new Map();
  if (!existsSync(outDir)) return snapshot;
  for (const stack of stacks ?? readdirSync(outDir)) {
    const stackDir = join(outDir, stack);
    if (!existsSync(join(stackDir, "order.json"))) continue;
    const projects = new Map<string, ProjectFiles>();
    for (const project of readdirSync(stackDir)) {
      const dir = join(stackDir, project);
      if (!statSync(dir).isDirectory() || !existsSync(join(dir, "resources.json"))) continue;
      const outputs = join(dir, "outputs.json");
      projects.set(project, {
        resources: readJson(join(dir, "resources.json")),
        outputs: existsSync(outputs) ? readJson(outputs) : {},
      });
    }
    snapshot.set(stack, projects);
  }
  return snapshot;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

// Arrays of named items (containers, env, ports, volumes) are compared by name, others by index.
function namedKeys(items: unknown[]): string[] | undefined {
  const names = items.map((item) =>
    isPlainObject(item) && typeof item.name === "string" ? item.name : undefined,
  );
  if (names.some((name) => name === undefined) || new Set(names).size !== names.length) return undefined;
  return names as string[];
}

/** The fields that differ between two JSON values, by path. */
export function diffFields(before: unknown, after: unknown, path = ""): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffFields(before[key], after[key], at(key)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const beforeNames = namedKeys(before);
    const afterNames = namedKeys(after);
    if (beforeNames && afterNames && before.length > 0 && after.length > 0) {
      const names = [...new Set([...beforeNames, ...afterNames])];
      return names.flatMap((name) =>
        diffFields(
          before[beforeNames.indexOf(name)],
          after[afterNames.indexOf(name)],
          `${path}[name=${name}]`,
        ),
      );
    }
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, index) =>
      diffFields(before[index], after[index], `${path}[${index}]`),
    ).flat();
  }
  return [
    {
      path: path || "(value)",
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
    },
  ];
}

function isKubernetesObject(resource: WrittenResource): boolean {
  if (resource.read || !resource.type.startsWith("kubernetes:")) return false;
  return !/^kubernetes:(helm\.sh|yaml|kustomize)\//.test(resource.type);
}

function objectName(resource: WrittenResource): string {
  if (!isKubernetesObject(resource)) return `${resource.type} ${resource.name}`;
  const metadata = resource.inputs.metadata ?? {};
  const kind = resource.inputs.kind ?? resource.type.split(":").pop();
  return `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ""}${metadata.name ?? resource.name}`;
}

// What is compared: Kubernetes objects by kind, namespace and name; other resources by URN
// (components, whose inputs are empty, only through their children).
function indexed(files: ProjectFiles | undefined): Map<string, WrittenResource> {
  const byKey = new Map<string, WrittenResource>();
  for (const resource of files?.resources ?? []) {
    if (resource.read && !isKubernetesObject(resource) && resource.type !== "pulumi:pulumi:StackReference")
      continue;
    if (!isKubernetesObject(resource) && Object.keys(resource.inputs ?? {}).length === 0) continue;
    byKey.set(isKubernetesObject(resource) ? objectName(resource) : resource.urn, resource);
  }
  return byKey;
}

const generatedSecretTypes = [
  "random:index/randomPassword:RandomPassword",
  "random:index/randomBytes:RandomBytes",
  "random:index/randomString:RandomString",
  "tailscale:index/tailnetKey:TailnetKey",
];

// The generated secrets (by Pulumi name) a resource's inputs come from.
function generatedSources(resource: WrittenResource | undefined): string[] {
  return (resource?.dependsOn ?? [])
    .filter((urn) => generatedSecretTypes.some((type) => urn.includes(`${type}::`)))
    .map((urn) => urn.slice(urn.lastIndexOf("::") + 2))
    .sort();
}

// Fields of a StatefulSet's spec Kubernetes lets an update change; any other change replaces it.
const statefulSetMutable = [
  "spec.replicas",
  "spec.template",
  "spec.updateStrategy",
  "spec.minReadySeconds",
  "spec.persistentVolumeClaimRetentionPolicy",
  "spec.ordinals",
];

const within = (path: string, prefixes: string[]) =>
  prefixes.some(
    (prefix) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`),
  );

function policyRules(spec: any): string[] {
  const specs = Array.isArray(spec?.specs) ? spec.specs : [spec ?? {}];
  return specs.flatMap((one: any) =>
    ["ingress", "egress"].flatMap((direction) =>
      ((one?.[direction] ?? []) as unknown[]).map(
        (rule) =>
          `${direction} ${JSON.stringify(one?.endpointSelector ?? one?.nodeSelector ?? {})} ${JSON.stringify(rule)}`,
      ),
    ),
  );
}

// A rule is keyed by its direction, its policy's subject and itself; shown without the subject.
function describeRule(rule: string): string {
  const [direction, , ...rest] = rule.split(" ");
  const text = `${direction} ${rest.join(" ")}`;
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Why a change is risky: data lost with a replaced volume, a backup gone, more allowed, a secret regenerated. */
function risksOf(
  change: Change["change"],
  before: WrittenResource | undefined,
  after: WrittenResource | undefined,
  fields: FieldChange[],
  dependents: (urn: string) => string[],
): string[] {
  const resource = (after ?? before) as WrittenResource;
  const kind = isKubernetesObject(resource) ? String(resource.inputs.kind) : resource.type;
  const risks: string[] = [];
  const replacedByUrn = change === "changed" && before && after && before.urn !== after.urn;
  if (kind === "PersistentVolumeClaim") {
    if (change === "removed") risks.push("PersistentVolumeClaim removed: its volume and data are deleted");
    const immutable = fields.filter(
      (field) => field.path.startsWith("spec.") && field.path !== "spec.resources.requests.storage",
    );
    if (immutable.length > 0 || replacedByUrn) {
      risks.push(
        `PersistentVolumeClaim replaced (${replacedByUrn ? "its Pulumi URN changed" : immutable.map((f) => f.path).join(", ")}): a new, empty volume`,
      );
    }
    const storage = fields.find((field) => field.path === "spec.resources.requests.storage");
    const [was, now] = [quantityBytes(storage?.before), quantityBytes(storage?.after)];
    if (storage && was !== undefined && now !== undefined && now < was) {
      risks.push("PersistentVolumeClaim shrinks: Kubernetes refuses it (volumes only grow)");
    }
  }
  if (kind === "StatefulSet") {
    const immutable = fields.filter(
      (field) => field.path.startsWith("spec.") && !within(field.path, statefulSetMutable),
    );
    if (immutable.length > 0 || replacedByUrn) {
      risks.push(
        `StatefulSet replaced (${replacedByUrn ? "its Pulumi URN changed" : immutable.map((f) => f.path).join(", ")}): its pods are deleted first`,
      );
    }
  }
  if (kind === "CronJob" && change === "removed" && /backup/.test(String(resource.inputs.metadata?.name))) {
    risks.push("backup removed: this CronJob no longer takes backups");
  }
  if (kind === "CiliumNetworkPolicy" || kind === "CiliumClusterwideNetworkPolicy") {
    const rulesOf = (inputs: any) => policyRules(inputs?.specs ? { specs: inputs.specs } : inputs?.spec);
    const old = new Set(before ? rulesOf(before.inputs) : []);
    const newRules = after ? rulesOf(after.inputs).filter((rule) => !old.has(rule)) : [];
    for (const rule of newRules.slice(0, 5)) {
      risks.push(
        `policy widened: ${change === "added" ? "new policy allows" : "new rule"} ${describeRule(rule)}`,
      );
    }
    if (newRules.length > 5) risks.push(`policy widened: and ${newRules.length - 5} more new rule(s)`);
  }
  if (generatedSecretTypes.includes(resource.type) && (change === "removed" || fields.length > 0)) {
    const users = before ? dependents(before.urn) : [];
    risks.push(
      `generated secret ${change === "removed" ? "replaced or removed" : "generated anew"}: ${
        users.length > 0 ? `${users.join(", ")} get a new value` : "whatever uses it gets a new value"
      }`,
    );
  }
  return risks;
}

function backupsOf(outputs: Record<string, any> | undefined): Map<string, unknown> {
  const entries = Array.isArray(outputs?.backups) ? (outputs?.backups as Record<string, any>[]) : [];
  return new Map(entries.map((entry) => [`${entry.app ?? "?"} ${entry.repository ?? ""}`, entry]));
}

/** What changed in one project between two outputs (`undefined`: the project is not in that output). */
export function compareProject(before: ProjectFiles | undefined, after: ProjectFiles | undefined): Change[] {
  const old = indexed(before);
  const now = indexed(after);
  const dependents = (urn: string) =>
    (before?.resources ?? [])
      .filter((resource) => resource.dependsOn?.includes(urn) && isKubernetesObject(resource))
      .map(objectName);
  const changes: Change[] = [];
  for (const key of [...new Set([...old.keys(), ...now.keys()])]) {
    const was = old.get(key);
    const is = now.get(key);
    const change: Change["change"] = !was ? "added" : !is ? "removed" : "changed";
    const fields = was && is ? diffFields(was.inputs, is.inputs) : [];
    // The same object under another Pulumi name or parent: Pulumi replaces it.
    if (was && is && was.urn !== is.urn)
      fields.unshift({ path: "(Pulumi URN)", before: was.urn, after: is.urn });
    // A Secret filled from other generated secrets than before holds new values, though both show [secret].
    const [wasFrom, isFrom] = [generatedSources(was), generatedSources(is)];
    const refilled = was && is && was.inputs.kind === "Secret" && wasFrom.join() !== isFrom.join();
    if (refilled) fields.push({ path: "(generated secrets it holds)", before: wasFrom, after: isFrom });
    if (change === "changed" && fields.length === 0) continue;
    const risks = risksOf(change, was, is, fields, dependents);
    if (refilled) risks.push("generated secret changed: the Secret now holds other generated values");
    changes.push({ change, object: objectName((is ?? was) as WrittenResource), fields, risks });
  }
  const keys = [
    ...new Set([...Object.keys(before?.outputs ?? {}), ...Object.keys(after?.outputs ?? {})]),
  ].sort();
  for (const key of keys) {
    const was = before?.outputs[key];
    const is = after?.outputs[key];
    const fields = diffFields(was, is);
    if (fields.length === 0) continue;
    const risks: string[] = [];
    if (key === "backups") {
      const remaining = backupsOf(after?.outputs);
      for (const [entry] of backupsOf(before?.outputs)) {
        if (!remaining.has(entry))
          risks.push(`backup removed: ${entry.replace(" ", " to ")} is no longer backed up`);
      }
    }
    changes.push({
      change: was === undefined ? "added" : is === undefined ? "removed" : "changed",
      object: `output ${key}`,
      fields,
      risks,
    });
  }
  const order = { removed: 0, changed: 1, added: 2 };
  return changes.sort((a, b) => order[a.change] - order[b.change] || a.object.localeCompare(b.object));
}

const releaseType = "kubernetes:helm.sh/v3:Release";

/** What the reachability analysis says each namespace (and `tailnet`, `world`) may reach, from a stack's files. */
function openPorts(projects: Map<string, ProjectFiles>): Map<string, Set<string>> | undefined {
  const resources = [...projects.values()].flatMap((files) => files.resources);
  const manifests = resources.filter(isKubernetesObject).map((resource) => resource.inputs);
  const releases: HelmRelease[] = resources
    .filter((resource) => resource.type === releaseType && !resource.read)
    .map((resource) => ({
      name: String(resource.inputs.name ?? resource.name),
      namespace: String(resource.inputs.namespace ?? "default"),
      chart: String(resource.inputs.chart),
      values: resource.inputs.values ?? {},
    }));
  let matrix: ReturnType<typeof namespaceMatrix>;
  try {
    matrix = namespaceMatrix(manifests, releases);
  } catch {
    return undefined; // The analysis refuses what it cannot vouch for; validation says so.
  }
  const paths = new Map<string, Set<string>>();
  for (const [from, row] of Object.entries(matrix.cells)) {
    for (const [to, ports] of Object.entries(row)) paths.set(`${from} → ${to}`, new Set(ports));
  }
  return paths;
}

/** Paths between namespaces the policies open now and did not before: what a widened policy means. */
export function newOpenPaths(before: Map<string, ProjectFiles>, after: Map<string, ProjectFiles>): Change[] {
  const [was, is] = [openPorts(before), openPorts(after)];
  if (!was || !is) return [];
  return [...is].flatMap(([path, ports]) => {
    const opened = [...ports].filter((port) => !was.get(path)?.has(port));
    if (opened.length === 0) return [];
    return [
      {
        change: was.has(path) ? ("changed" as const) : ("added" as const),
        object: `open path ${path}`,
        fields: [{ path: "ports", before: [...(was.get(path) ?? [])], after: [...ports] }],
        risks: [`policy widened: ${path} is now open on ${opened.join(", ")}`],
      },
    ];
  });
}

/**
 * Compares two synth outputs, stack by stack and project by project. With `projects`, only
 * those are compared (the others were not synthesized again).
 */
export function compareSnapshots(before: Snapshot, after: Snapshot, projects?: string[]): ProjectDiff[] {
  const diffs: ProjectDiff[] = [];
  for (const [stack, now] of after) {
    const old = before.get(stack) ?? new Map<string, ProjectFiles>();
    const names = projects ? [...now.keys()] : [...new Set([...old.keys(), ...now.keys()])];
    for (const project of names.sort()) {
      const changes = compareProject(old.get(project), now.get(project));
      if (changes.length > 0) diffs.push({ stack, project, changes });
    }
    // What the changes open between namespaces (asked only when something changed).
    if (diffs.some((diff) => diff.stack === stack)) {
      const opened = newOpenPaths(projects ? new Map([...old].filter(([name]) => now.has(name))) : old, now);
      if (opened.length > 0)
        diffs.push({ stack, project: "(reachability between namespaces)", changes: opened });
    }
  }
  return diffs;
}

function shown(value: unknown): string {
  if (value === undefined) return "(none)";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const marks = { added: "+", removed: "-", changed: "~" };

/** The lines `--compare` prints: per project, each object added, removed or changed, with its fields and risks. */
export function formatDiffs(diffs: ProjectDiff[], previous: string): { lines: string[]; risky: number } {
  const lines: string[] = [];
  let risky = 0;
  for (const diff of diffs) {
    const count = (change: Change["change"]) => diff.changes.filter((c) => c.change === change).length;
    lines.push(
      `${diff.stack}/${diff.project}: ${count("added")} added, ${count("removed")} removed, ${count("changed")} changed`,
    );
    for (const change of diff.changes) {
      lines.push(`  ${marks[change.change]} ${change.object}`);
      if (change.change === "changed") {
        for (const field of change.fields.slice(0, 20)) {
          lines.push(`      ${field.path}: ${shown(field.before)} → ${shown(field.after)}`);
        }
        if (change.fields.length > 20) lines.push(`      ... and ${change.fields.length - 20} more field(s)`);
      }
      for (const risk of change.risks) lines.push(`      ⚠ ${risk}`);
      if (change.risks.length > 0) risky += 1;
    }
  }
  const objects = diffs.reduce((sum, diff) => sum + diff.changes.length, 0);
  lines.push(
    diffs.length === 0
      ? `compared with ${previous}: no changes`
      : `compared with ${previous}: ${objects} change(s) in ${diffs.length} project(s), ${risky} risky`,
  );
  return { lines, risky };
}
