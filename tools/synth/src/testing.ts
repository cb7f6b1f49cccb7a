import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repositoryRoot } from "@infra/core";
import type { ResourceRecord } from "./run-program";
import { runUnderMocks } from "./run-program";
import { unwrapSecrets } from "./secrets";
import { isKubernetesObject } from "./write";

/** A program rendered for a test: its resources and Kubernetes objects, secrets unwrapped. */
export interface RenderedProgram {
  resources: ResourceRecord[];
  /** Kubernetes objects as they would be applied (secret values in plain text, for assertions). */
  manifests: Record<string, unknown>[];
  outputs: Record<string, unknown>;
  errors: string[];
  /** The Kubernetes object of a kind and name; throws when there is none. */
  manifest(kind: string, name: string): Record<string, any>;
}

export interface RenderOptions {
  project?: string;
  stack?: string;
  /** Config values, as `Pulumi.<stack>.yaml` would give them (`project:key` → value). */
  config?: Record<string, unknown>;
  secretKeys?: string[];
  /** Exports of other projects the program references, by project name. */
  stackExports?: Record<string, Record<string, unknown>>;
}

/**
 * Runs `program` under the same mock runtime synth uses and returns what it rendered. For
 * tests of helpers: `const { manifest } = await render(() => createWorkload({...}))`.
 */
export async function render(program: () => unknown, options: RenderOptions = {}): Promise<RenderedProgram> {
  const values = Object.fromEntries(
    Object.entries(options.config ?? {}).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
  const run = await runUnderMocks({
    project: options.project ?? "test",
    dir: tmpdir(),
    stack: options.stack ?? "test",
    config: { values, secretKeys: options.secretKeys ?? [], secretValues: [] },
    exportsOf: (project) => {
      const exports = options.stackExports?.[project];
      if (!exports) return undefined;
      return Object.fromEntries(
        Object.entries(exports).map(([key, value]) => [key, { value, secret: false }]),
      );
    },
    load: () => {
      const result = program();
      return result instanceof Promise ? () => result.then(() => ({})) : {};
    },
  });
  const manifests = run.resources
    .filter(isKubernetesObject)
    .map((resource) => unwrapSecrets(resource.inputs) as Record<string, unknown>);
  return {
    resources: run.resources,
    manifests,
    outputs: Object.fromEntries(Object.entries(run.outputs).map(([key, output]) => [key, output.value])),
    errors:
      run.missingProjects.size > 0
        ? [`missing stack exports: ${[...run.missingProjects].join(", ")}`]
        : run.errors,
    manifest(kind, name) {
      const found = manifests.find(
        (object) => object.kind === kind && (object.metadata as { name?: string } | undefined)?.name === name,
      );
      if (!found) throw new Error(`no ${kind} named ${name} was rendered`);
      return found as Record<string, any>;
    },
  };
}

/**
 * Copies into `root` what synth runs (servers/, the Pulumi workspace, the NixOS flake and the
 * Terraform templates the layers read), loading the repository's packages through a link to its
 * node_modules: a test edits the copy's descriptions or stack files and synthesizes it
 * (`workspaceRoots: [join(root, "pulumi"), join(repositoryRoot, "pulumi")]`).
 */
export function copySiteForSynth(root: string): void {
  for (const dir of ["servers", "pulumi", "nixos", join("terraform", "templates")]) {
    cpSync(join(repositoryRoot, dir), join(root, dir), {
      recursive: true,
      filter: (source) => !source.includes("node_modules"),
    });
  }
  mkdirSync(join(root, "terraform", "instances"), { recursive: true });
  symlinkSync(join(repositoryRoot, "node_modules"), join(root, "node_modules"));
}
