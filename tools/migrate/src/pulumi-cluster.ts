import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { appSecretsFile, backupSecrets } from "@infra/app-secrets";
import { readServers, repositoryRoot } from "@infra/core";
import type { AppBackups, AppDatabase, Cluster } from "./cluster";
import { fingerprint } from "./fingerprint";
import { AppRepository } from "./repository";

const execute = promisify(execFile);
const projectsDir = join(repositoryRoot, "pulumi", "projects");
const scriptsDir = join(repositoryRoot, "pulumi", "packages", "restic", "scripts");
const pollMilliseconds = 5000;
const waitMilliseconds = 30 * 60 * 1000;

/** A command's output; a failure carries what it printed on stderr. */
async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string; inherit?: boolean } = {},
): Promise<string> {
  if (options.inherit) {
    // Long commands (pulumi up) show their own progress as they go.
    const { spawn } = await import("node:child_process");
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, {
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "inherit", "inherit"],
      });
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} failed (exit ${code})`)),
      );
    });
    return "";
  }
  try {
    const child = execute(command, args, {
      env: { ...process.env, ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    return (await child).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.slice(0, 3).join(" ")} failed: ${stderr || String(error)}`);
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

interface BackupsOutputEntry {
  app: string;
  repository: string;
  secretsFile: string;
  database?: AppDatabase;
  buckets?: string[];
}

/**
 * The servers as the Pulumi CLI and kubectl reach them from the operator's machine: the stacks'
 * state in the logged-in backend, each cluster by its kube context (the server's name), the
 * repositories with the operator's storage credentials and sops-decrypted passwords.
 */
export class PulumiCluster implements Cluster {
  private readonly work = mkdtempSync(join(tmpdir(), "migrate-"));

  private projectDir(project: string): string {
    const dir = join(projectsDir, project);
    if (!existsSync(join(dir, "Pulumi.yaml"))) throw new Error(`No project ${project} in ${projectsDir}`);
    return dir;
  }

  private kubectl(stack: string, app: string, args: string[]): Promise<string> {
    return run("kubectl", ["--context", stack, "--namespace", app, ...args]);
  }

  private async output<T>(stack: string, project: string, name: string): Promise<T | undefined> {
    try {
      const text = await run("pulumi", [
        "stack",
        "output",
        name,
        "--json",
        "--stack",
        stack,
        "--cwd",
        this.projectDir(project),
      ]);
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  }

  async deploy(stack: string, project: string, options: { skipFinalBackup?: boolean } = {}): Promise<void> {
    const cwd = this.projectDir(project);
    await run("pulumi", ["stack", "select", "--create", stack, "--cwd", cwd]);
    await run("pulumi", ["up", "--yes", "--skip-preview", "--stack", stack, "--cwd", cwd], {
      inherit: true,
      // final-backup.sh reads it when the up deletes the app's final-backup command.
      ...(options.skipFinalBackup ? { env: { SKIP_FINAL_BACKUP: project } } : {}),
    });
  }

  async destroy(stack: string, project: string): Promise<void> {
    await run(
      "pulumi",
      ["destroy", "--yes", "--skip-preview", "--stack", stack, "--cwd", this.projectDir(project)],
      {
        inherit: true,
      },
    );
  }

  private async appPods(stack: string, app: string): Promise<string[]> {
    const pods = JSON.parse(await this.kubectl(stack, app, ["get", "pods", "--output", "json"])) as {
      items: { metadata: { name: string; ownerReferences?: { kind: string }[] } }[];
    };
    // Job pods (a backup in progress) are not the app's: the app's workloads own ReplicaSets' and StatefulSets' pods.
    return pods.items
      .filter((pod) => !(pod.metadata.ownerReferences ?? []).some((owner) => owner.kind === "Job"))
      .map((pod) => pod.metadata.name);
  }

  async waitStopped(stack: string, app: string): Promise<void> {
    const deadline = Date.now() + waitMilliseconds;
    for (;;) {
      const pods = await this.appPods(stack, app);
      if (pods.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${app}'s pods ${pods.join(", ")} still run on ${stack}`);
      await sleep(pollMilliseconds);
    }
  }

  async waitHealthy(stack: string, app: string): Promise<void> {
    const workloads = (
      await this.kubectl(stack, app, ["get", "deployments,statefulsets", "--output", "name"])
    )
      .split("\n")
      .filter(Boolean);
    if (workloads.length === 0) throw new Error(`${app} has no workload on ${stack}`);
    for (const workload of workloads) {
      await this.kubectl(stack, app, [
        "rollout",
        "status",
        workload,
        "--timeout",
        `${waitMilliseconds / 1000}s`,
      ]);
    }
  }

  async finalBackup(stack: string, app: string): Promise<void> {
    await run("bash", [join(scriptsDir, "final-backup.sh")], {
      inherit: true,
      env: {
        KUBE_CONTEXT: stack,
        NAMESPACE: app,
        CRONJOB: `${app}-final-backup`,
        SCHEDULED_CRONJOB: `${app}-backup`,
        APP: app,
      },
    });
  }

  async servers(): Promise<string[]> {
    return readServers().servers.map((server) => server.name);
  }

  async deployed(stack: string): Promise<string[]> {
    const { readdirSync } = await import("node:fs");
    const projects: string[] = [];
    for (const project of readdirSync(projectsDir)) {
      if (!existsSync(join(projectsDir, project, "Pulumi.yaml"))) continue;
      const stacks = JSON.parse(
        await run("pulumi", ["stack", "ls", "--json", "--cwd", join(projectsDir, project)]),
      ) as {
        name: string;
        resourceCount?: number;
      }[];
      if (stacks.some((entry) => entry.name === stack && (entry.resourceCount ?? 0) > 0))
        projects.push(project);
    }
    return projects;
  }

  async layerOrder(stack: string): Promise<string[]> {
    const deployed = new Set(await this.deployed(stack));
    const order = await run(join(repositoryRoot, "run"), ["layer-order", stack]);
    return order.split(/\s+/).filter((project) => deployed.has(project));
  }

  async layersOf(app: string, stack: string): Promise<string[]> {
    const { synth } = await import("@tools/synth/src/synth");
    // Rendered as if the app were on the target: its references are the layers it needs there.
    const placement = join(this.work, `${app}-on-${stack}.yaml`);
    writeFileSync(placement, JSON.stringify({ apps: { [app]: stack } }));
    const previous = process.env.HOMELAB_PLACEMENT;
    process.env.HOMELAB_PLACEMENT = placement;
    try {
      const [result] = await synth({
        projectsDir,
        stacks: [stack],
        projects: [app],
        workspaceRoots: [join(repositoryRoot, "pulumi")],
      });
      const problems = [
        ...(result?.errors ?? []),
        ...(result?.projects.flatMap((project) =>
          project.errors.map((error) => `${project.project}: ${error}`),
        ) ?? []),
      ];
      if (problems.length > 0)
        throw new Error(`${app} does not render on ${stack}:\n  ${problems.join("\n  ")}`);
      return (result?.projects ?? []).map((project) => project.project);
    } finally {
      if (previous === undefined) delete process.env.HOMELAB_PLACEMENT;
      else process.env.HOMELAB_PLACEMENT = previous;
    }
  }

  async backups(stack: string, app: string): Promise<AppBackups | undefined> {
    const entries = await this.output<BackupsOutputEntry[]>(stack, app, "backups");
    const entry = entries?.find((candidate) => candidate.app === app);
    if (!entry) return undefined;
    const passwordFile = join(this.work, `${app}.password`);
    const password = await run("sops", [
      "--decrypt",
      "--extract",
      '["resticPassword"]',
      join(repositoryRoot, entry.secretsFile),
    ]);
    writeFileSync(passwordFile, password, { mode: 0o600 });
    return {
      repository: new AppRepository(app, {
        RESTIC_REPOSITORY: entry.repository,
        RESTIC_PASSWORD_FILE: passwordFile,
        RESTIC_CACHE_DIR: join(this.work, "restic-cache"),
      }),
      ...(entry.database ? { database: entry.database } : {}),
      ...(entry.buckets ? { buckets: entry.buckets } : {}),
    };
  }

  async clusterSecretsFingerprint(stack: string, app: string): Promise<string | undefined> {
    let secret: { data?: Record<string, string> };
    try {
      secret = JSON.parse(
        await this.kubectl(stack, app, ["get", "secret", `${app}-stable`, "--output", "json"]),
      );
    } catch (error) {
      if (/NotFound/.test(String(error))) return undefined;
      throw error;
    }
    return fingerprint(
      Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, "base64").toString(),
        ]),
      ),
    );
  }

  async fileSecretsFingerprint(app: string): Promise<string | undefined> {
    const file = join(repositoryRoot, "secrets", "apps", `${app}.yaml`);
    if (!existsSync(file)) return undefined;
    const values = JSON.parse(await run("sops", ["--decrypt", "--output-type", "json", file])) as Record<
      string,
      string
    >;
    // The keys the app declares, as its stable Secret holds them (the backup secrets are the jobs' only).
    const declared = Object.keys(appSecretsFile(repositoryRoot, app).spec).filter(
      (key) => !(key in backupSecrets),
    );
    return fingerprint(Object.fromEntries(Object.entries(values).filter(([key]) => declared.includes(key))));
  }

  async freeBytes(stack: string): Promise<number> {
    const node = (
      await run("kubectl", [
        "--context",
        stack,
        "get",
        "nodes",
        "--output",
        "jsonpath={.items[0].metadata.name}",
      ])
    ).trim();
    const summary = JSON.parse(
      await run("kubectl", ["--context", stack, "get", "--raw", `/api/v1/nodes/${node}/proxy/stats/summary`]),
    ) as { node: { fs: { availableBytes: number } } };
    return summary.node.fs.availableBytes;
  }

  async dropDatabase(stack: string, database: AppDatabase): Promise<void> {
    const server = await this.output<{
      namespace: string;
      adminUser: string;
      adminSecret: { name: string; key: string };
      podLabels: Record<string, string>;
    }>(stack, database.kind, "server");
    if (!server) throw new Error(`${stack} exports no ${database.kind} server (pulumi stack output server)`);
    const selector = Object.entries(server.podLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    const pod = (
      await this.kubectl(stack, server.namespace, [
        "get",
        "pods",
        "--selector",
        selector,
        "--output",
        "jsonpath={.items[0].metadata.name}",
      ])
    ).trim();
    const secret = JSON.parse(
      await this.kubectl(stack, server.namespace, [
        "get",
        "secret",
        server.adminSecret.name,
        "--output",
        "json",
      ]),
    ) as {
      data: Record<string, string>;
    };
    const password = Buffer.from(secret.data[server.adminSecret.key] ?? "", "base64").toString();
    const quoted = (name: string, quote: string) =>
      `${quote}${name.replaceAll(quote, quote + quote)}${quote}`;
    const [client, statements] =
      database.kind === "postgresql"
        ? [
            `PGPASSWORD="$password" psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U ${quoted(server.adminUser, "'")} -d postgres`,
            `DROP DATABASE IF EXISTS ${quoted(database.name, '"')} WITH (FORCE); DROP ROLE IF EXISTS ${quoted(database.user, '"')};`,
          ]
        : [
            `MYSQL_PWD="$password" ${database.kind === "mariadb" ? "mariadb" : "mysql"} -h 127.0.0.1 -u ${quoted(server.adminUser, "'")}`,
            `DROP DATABASE IF EXISTS ${quoted(database.name, "`")}; DROP USER IF EXISTS ${quoted(database.user, "'")}@'%';`,
          ];
    const shellQuoted = `'${statements.replaceAll("'", "'\\''")}'`;
    // The password goes through stdin, never into a process's arguments.
    await run(
      "kubectl",
      [
        "--context",
        stack,
        "--namespace",
        server.namespace,
        "exec",
        "--stdin",
        pod,
        "--",
        "sh",
        "-c",
        `read -r password; printf '%s\\n' ${shellQuoted} | ${client}`,
      ],
      { input: `${password}\n` },
    );
  }
}
