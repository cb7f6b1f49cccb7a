import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { localEnv, movedPath, podSpecOf, writeBundle } from "@infra/restic/src/testing/rendered-job";
import { type RunResult, run } from "@infra/restic/src/testing/restic-sandbox";
import { synthAndValidate } from "@tools/synth/src/report";
import { unwrapSecrets } from "@tools/synth/src/secrets";
import { isKubernetesObject } from "@tools/synth/src/write";

export type Manifest = Record<string, any>;

const repoRoot = resolve(__dirname, "..", "..", "..", "..", "..");

/** The Kubernetes objects synth renders for projects of a stack, secrets in clear. */
export class RenderedStack {
  private constructor(readonly objects: Manifest[]) {}

  static async synth(stack: string, projects: string[]): Promise<RenderedStack> {
    const outDir = mkdtempSync(join(tmpdir(), `${stack}-synth-`));
    try {
      const report = await synthAndValidate({
        projectsDir: join(repoRoot, "pulumi", "projects"),
        workspaceRoots: [join(repoRoot, "pulumi")],
        outDir,
        validate: false,
        stacks: [stack],
        projects,
      });
      assert.deepEqual(report.problems, []);
      const rendered = report.results[0]?.projects.filter((project) => projects.includes(project.project));
      assert.equal(rendered?.length, projects.length, `synth rendered not all of ${projects.join(", ")}`);
      return new RenderedStack(
        rendered.flatMap((project) =>
          project.resources
            .filter(isKubernetesObject)
            .map((resource) => unwrapSecrets(resource.inputs) as Manifest),
        ),
      );
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }

  object(kind: string, namespace: string, name: string): Manifest {
    const found = this.objects.find(
      (candidate) =>
        candidate.kind === kind &&
        candidate.metadata?.name === name &&
        candidate.metadata?.namespace === namespace,
    );
    assert.ok(found, `synth rendered no ${kind} ${namespace}/${name}`);
    return found;
  }

  secretValue(namespace: string, name: string, key: string): string {
    const value = this.object("Secret", namespace, name).stringData?.[key];
    assert.equal(typeof value, "string", `Secret ${namespace}/${name} has no ${key}`);
    return value;
  }

  /** The Secret's keys as files, as a Secret volume mounts them. */
  secretFiles(namespace: string, name: string): Record<string, string> {
    return this.object("Secret", namespace, name).stringData;
  }

  container(manifest: Manifest): Manifest {
    return podSpecOf(manifest).containers[0];
  }

  /** A container's variables: plain values as rendered, Secret references resolved from its namespace's Secrets. */
  variables(manifest: Manifest): Record<string, string> {
    return Object.fromEntries(
      (this.container(manifest).env as Manifest[]).map((variable) => {
        const ref = variable.valueFrom?.secretKeyRef;
        const value = ref ? this.secretValue(manifest.metadata.namespace, ref.name, ref.key) : variable.value;
        assert.ok(value !== undefined, `no value for ${variable.name}`);
        return [variable.name, String(value)];
      }),
    );
  }

  /** The files of the script bundle a job's container mounts at `/opt/scripts`. */
  scripts(manifest: Manifest): Record<string, string> {
    const spec = podSpecOf(manifest);
    const mount = (this.container(manifest).volumeMounts as Manifest[]).find(
      (candidate) => candidate.mountPath === "/opt/scripts",
    );
    const volume = (spec.volumes as Manifest[]).find((candidate) => candidate.name === mount?.name);
    assert.ok(volume?.configMap?.name, `${manifest.metadata.name} mounts no script bundle`);
    return this.object("ConfigMap", manifest.metadata.namespace, volume.configMap.name).data;
  }
}

export interface JobRun {
  /** Where the run's own directories go (its bundle, tools, home). */
  workDir: string;
  /** Paths of the pod (mount points) and the local directories they are here. */
  mounts?: Record<string, string>;
  /** A rendered value (a Service's URL in the cluster) and what stands for it here. */
  services?: Record<string, string>;
  /** Variables set or replaced on top of the rendered ones. */
  overrides?: Record<string, string>;
}

/**
 * Runs a rendered Job or CronJob's container command, as rendered, on this machine: its script
 * bundle written out, its variables with the paths of its mounts moved here, the cluster's
 * Services replaced by what stands for them.
 */
export async function runRenderedJob(
  rendered: RenderedStack,
  manifest: Manifest,
  options: JobRun,
): Promise<RunResult> {
  const dirs = {
    "/opt/scripts": await writeBundle(rendered.scripts(manifest), join(options.workDir, "scripts")),
    "/opt/tools": join(options.workDir, "tools"),
    "/home/scripts": join(options.workDir, "home"),
    "/cache": join(options.workDir, "cache"),
    "/tmp": join(options.workDir, "tmp"),
    ...options.mounts,
  };
  for (const dir of ["/opt/tools", "/home/scripts", "/cache", "/tmp"] as const)
    await mkdir(dirs[dir], { recursive: true });
  const variables = Object.fromEntries(
    Object.entries(rendered.variables(manifest)).map(([name, value]) => [
      name,
      options.services?.[value] ?? value,
    ]),
  );
  // The pod's /tmp is an emptyDir of its own.
  const env = localEnv(variables, dirs, { TMPDIR: dirs["/tmp"], ...options.overrides });
  const [command, ...args] = (rendered.container(manifest).command as string[]).map((part) =>
    movedPath(part, dirs),
  );
  return run(command as string, args, { env });
}
