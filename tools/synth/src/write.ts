import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ResourceRecord } from "./run-program";
import { redacted, redactSecrets, unwrapSecrets } from "./secrets";
import type { ProjectSynth, StackSynth } from "./synth";

/** Resource types that are Kubernetes objects the engine would apply as they are. */
export function isKubernetesObject(resource: ResourceRecord): boolean {
  if (resource.read || !resource.custom || !resource.type.startsWith("kubernetes:")) return false;
  return !/^kubernetes:(helm\.sh|yaml|kustomize)\//.test(resource.type);
}

// A Secret's data is redacted whether or not the program marked it secret, key by key: the keys
// stay visible (references to them can be checked), even when Pulumi wrapped the whole field.
function redactSecretData(manifest: Record<string, unknown>): Record<string, unknown> {
  if (manifest.kind !== "Secret") return manifest;
  const result = { ...manifest };
  for (const field of ["data", "stringData"]) {
    const entries = unwrapSecrets(manifest[field]);
    if (entries && typeof entries === "object") {
      result[field] = Object.fromEntries(Object.keys(entries).map((key) => [key, redacted]));
    }
  }
  return result;
}

/** A resource's inputs as written: secrets redacted, and the data of a Kubernetes Secret always. */
function redactedInputs(resource: ResourceRecord): Record<string, unknown> {
  const inputs = isKubernetesObject(resource) ? redactSecretData(resource.inputs) : resource.inputs;
  return redactSecrets(inputs) as Record<string, unknown>;
}

/** The project's Kubernetes objects, resolved, secrets redacted (Secret data always). */
export function manifestsOf(project: ProjectSynth): Record<string, unknown>[] {
  return project.resources.filter(isKubernetesObject).map(redactedInputs);
}

function resourcesOf(project: ProjectSynth) {
  return project.resources.map((resource) => ({
    type: resource.type,
    name: resource.name,
    urn: resource.urn,
    parent: resource.parent ?? null,
    dependsOn: resource.dependsOn,
    provider: resource.provider ?? null,
    read: resource.read,
    inputs: redactedInputs(resource),
  }));
}

function outputsOf(project: ProjectSynth): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(project.outputs).map(([key, output]) => [key, output.secret ? redacted : output.value]),
  );
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/**
 * Writes the output contract of one stack: `<out>/<stack>/<project>/{manifests.yaml,
 * resources.json,outputs.json}` and `<out>/<stack>/order.json`. Afterwards every written file is
 * searched for every secret value synth knows; finding one is an error, and the file is removed.
 */
export function writeStack(outDir: string, result: StackSynth): string[] {
  const stackDir = join(outDir, result.stack);
  rmSync(stackDir, { recursive: true, force: true });
  mkdirSync(stackDir, { recursive: true });
  for (const project of result.projects) {
    const dir = join(stackDir, project.project);
    mkdirSync(dir, { recursive: true });
    const manifests = manifestsOf(project);
    writeFileSync(
      join(dir, "manifests.yaml"),
      manifests
        .map((manifest) => stringify(manifest, { lineWidth: 0, aliasDuplicateObjects: false }))
        .join("---\n"),
    );
    writeFileSync(join(dir, "resources.json"), `${JSON.stringify(resourcesOf(project), null, 2)}\n`);
    writeFileSync(join(dir, "outputs.json"), `${JSON.stringify(outputsOf(project), null, 2)}\n`);
  }
  const order = {
    stack: result.stack,
    projects: result.projects.map((project) => ({
      project: project.project,
      references: [...project.references].sort(),
      reads: Object.fromEntries([...project.reads].map(([name, outputs]) => [name, [...outputs].sort()])),
    })),
  };
  writeFileSync(join(stackDir, "order.json"), `${JSON.stringify(order, null, 2)}\n`);

  return removeLeaks(result, listFiles(stackDir));
}

// Every written file is searched for every secret synth knows; a file holding one is removed.
function removeLeaks(result: StackSynth, files: string[]): string[] {
  const secrets = result.projects
    .flatMap((project) => project.secretValues)
    .filter((value) => value.length >= 8);
  const leaks: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    if (secrets.some((secret) => text.includes(secret))) {
      leaks.push(`${file} contains a secret value in plain text`);
      rmSync(file);
    }
  }
  return leaks;
}

/** Writes `<out>/<stack>/report.html`, removed again (and reported) if it shows a secret. */
export function writeReport(outDir: string, result: StackSynth, html: string): string[] {
  const stackDir = join(outDir, result.stack);
  mkdirSync(stackDir, { recursive: true });
  const file = join(stackDir, "report.html");
  writeFileSync(file, html);
  return removeLeaks(result, [file]);
}
