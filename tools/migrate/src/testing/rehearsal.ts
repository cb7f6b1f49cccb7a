import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, statfs, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { appSecretsFile, backupSecrets } from "@infra/app-secrets";
import { appOnStack, type Placement, parsePlacement, repositoryRoot } from "@infra/core";
import type { DatabaseServerInfo } from "@infra/databases/src/server";
import { type DatabaseServer, startDatabaseServer } from "@infra/databases/src/testing/db-servers";
import { localEnv, movedPath, podSpecOf, writeBundle } from "@infra/restic/src/testing/rendered-job";
import { type RunResult, run } from "@infra/restic/src/testing/restic-sandbox";
import { decryptCommand } from "@projects/common/src/app/stable-secrets";
import { answerInvoke } from "@tools/synth/src/invokes";
import { unwrapSecrets } from "@tools/synth/src/secrets";
import { type StackSynth, synth } from "@tools/synth/src/synth";
import { isKubernetesObject } from "@tools/synth/src/write";
import { stringify } from "yaml";
import type { AppBackups, AppDatabase, Cluster } from "../cluster";
import { fingerprint } from "../fingerprint";
import { AppRepository } from "../repository";

type Manifest = Record<string, any>;

/** The servers a rehearsal has, as their stacks are named. */
const rehearsalServers = ["cloud-a", "cloud-b"] as const;

const projectsDir = join(repositoryRoot, "pulumi", "projects");
const adminPassword = "rehearsal postgres admin password";
const dnsRecordType = /^cloudflare:index\/(dnsRecord:DnsRecord|record:Record)$/;
// Files the stand-in app writes get one modification time, so two runs' volumes compare equal.
const writtenAt = new Date("2024-01-01T00:00:00Z");

/** The final-backup command of an app, as its environment names the CronJobs (final-backup.sh). */
interface FinalBackupCommand {
  app: string;
  namespace: string;
  cronJob: string;
  scheduledCronJob: string;
}

/** What a `pulumi up` of a project on a stack applies: synth's rendering, with the secrets file's values. */
interface Rendering {
  /** The projects synth ran, the ones referenced first. */
  projects: string[];
  objects: Manifest[];
  outputs: Record<string, unknown>;
  /** The hostnames of its DNS records: Cloudflare's, and the private names it holds for the tailnet's DNS. */
  dns: string[];
  finalBackups: FinalBackupCommand[];
  /** The database servers of the layers it references (their `server` exports). */
  databaseServers: DatabaseServerInfo[];
}

/** A project as a server has it: what was applied last, and what of it ran. */
interface DeployedProject extends Omit<Rendering, "projects"> {
  /** The Jobs (`<namespace>/<name>`) that completed: a Job runs once, when it is created. */
  jobsDone: string[];
  /** Whether the app's pods run (a workload with replicas). */
  running: boolean;
}

/** What a server's Pulumi state and cluster hold, kept in a file so that a fresh cluster object sees it. */
interface ServerState {
  /** The base layers deployed, in the order they were built. */
  layers: string[];
  projects: Record<string, DeployedProject>;
}

/** One of the rehearsal's servers: a PostgreSQL server and a directory for its volumes and state. */
export class RehearsalServer {
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly database: DatabaseServer,
  ) {}

  /** Where a claim's volume lives. */
  volumeDir(namespace: string, claim: string): string {
    return join(this.dir, "volumes", namespace, claim);
  }

  private get stateFile(): string {
    return join(this.dir, "state.json");
  }

  readState(): ServerState {
    return JSON.parse(readFileSync(this.stateFile, "utf8")) as ServerState;
  }

  writeState(state: ServerState): void {
    writeFileSync(this.stateFile, JSON.stringify(state));
  }

  /** The databases apps have here (all but the server's own). */
  async appDatabases(): Promise<string[]> {
    const rows = await this.database.sql(
      "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') ORDER BY 1",
      this.database.admin,
    );
    return rows.split("\n").filter(Boolean);
  }

  async dropDatabase(name: string, user: string): Promise<void> {
    await this.database.sql(
      `DROP DATABASE IF EXISTS ${identifier(name)} WITH (FORCE); DROP ROLE IF EXISTS ${identifier(user)};`,
      this.database.admin,
    );
  }

  /** Leaves the server as new: no app's database, role or volume, nothing deployed but `layers`. */
  async clear(layers: string[]): Promise<void> {
    for (const name of await this.appDatabases()) {
      await this.database.sql(`DROP DATABASE ${identifier(name)} WITH (FORCE)`, this.database.admin);
    }
    const roles = await this.database.sql(
      "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> 'postgres'",
      this.database.admin,
    );
    for (const role of roles.split("\n").filter(Boolean)) {
      await this.database.sql(`DROP ROLE ${identifier(role)}`, this.database.admin);
    }
    await rm(join(this.dir, "volumes"), { recursive: true, force: true });
    this.writeState({ layers, projects: {} });
  }
}

function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function replaceStrings(value: unknown, replace: (text: string) => string): unknown {
  if (typeof value === "string") return replace(value);
  if (Array.isArray(value)) return value.map((item) => replaceStrings(item, replace));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceStrings(item, replace)]),
    );
  }
  return value;
}

function find(objects: Manifest[], kind: string, namespace: string, name: string): Manifest {
  const found = objects.find(
    (object) =>
      object.kind === kind && object.metadata?.name === name && object.metadata?.namespace === namespace,
  );
  if (!found) throw new Error(`no ${kind} ${namespace}/${name} was applied`);
  return found;
}

function secretEntries(secret: Manifest): Record<string, string> {
  const data = Object.fromEntries(
    Object.entries((secret.data ?? {}) as Record<string, string>).map(([key, value]) => [
      key,
      Buffer.from(value, "base64").toString(),
    ]),
  );
  return { ...data, ...(secret.stringData ?? {}) };
}

/** A queue that runs the work given to it one at a time, in order. */
function oneAtATime(): <T>(work: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>) => {
    const result = last.then(work, work);
    last = result.catch(() => undefined);
    return result;
  };
}

/** Synth runs one program at a time in a process (it sets the mocks, the environment and the working directory). */
const serialized = oneAtATime();

/** Renderings by what the programs see of the placement, for every rehearsal of the process. */
const renderings = new Map<string, Promise<Rendering>>();
let renderCount = 0;

/** Synthesizes a project on a stack as `pulumi up` would run its program, secrets unwrapped. */
async function synthesize(
  stack: string,
  project: string,
  placementText: string,
  workDir: string,
): Promise<Rendering> {
  // A fresh file per rendering: the programs' placement is read once per file.
  const file = join(workDir, `placement-${++renderCount}.yaml`);
  writeFileSync(file, placementText);
  const previous = process.env.HOMELAB_PLACEMENT;
  process.env.HOMELAB_PLACEMENT = file;
  let result: StackSynth | undefined;
  try {
    [result] = await synth({
      projectsDir,
      stacks: [stack],
      projects: [project],
      workspaceRoots: [join(repositoryRoot, "pulumi")],
    });
  } finally {
    if (previous === undefined) delete process.env.HOMELAB_PLACEMENT;
    else process.env.HOMELAB_PLACEMENT = previous;
  }
  const problems = [
    ...(result?.errors ?? []),
    ...(result?.projects.flatMap((ran) => ran.errors.map((error) => `${ran.project}: ${error}`)) ?? []),
  ];
  const ran = result?.projects.find((candidate) => candidate.project === project);
  if (!result || !ran || problems.length > 0) {
    throw new Error(
      `pulumi up of ${project} on ${stack} fails: its program does not run:\n  ${problems.join("\n  ")}`,
    );
  }
  const inputsOf = (type: RegExp) =>
    ran.resources
      .filter((resource) => type.test(resource.type))
      .map((resource) => unwrapSecrets(resource.inputs) as Manifest);
  return {
    projects: result.projects.map((candidate) => candidate.project),
    objects: ran.resources
      .filter(isKubernetesObject)
      .map((resource) => unwrapSecrets(resource.inputs) as Manifest),
    outputs: Object.fromEntries(
      Object.entries(ran.outputs).map(([name, output]) => [name, unwrapSecrets(output.value)]),
    ),
    dns: [
      ...inputsOf(dnsRecordType).map((record) => String(record.name)),
      ...((unwrapSecrets(ran.outputs.privateNames?.value) ?? []) as { hostname: string }[]).map(
        (name) => name.hostname,
      ),
    ],
    finalBackups: inputsOf(/^command:local:Command$/)
      .map((command) => command.environment as Record<string, string> | undefined)
      .filter((environment) => environment?.CRONJOB !== undefined)
      .map((environment) => ({
        app: String(environment?.APP),
        namespace: String(environment?.NAMESPACE),
        cronJob: String(environment?.CRONJOB),
        scheduledCronJob: String(environment?.SCHEDULED_CRONJOB),
      })),
    databaseServers: result.projects
      .map((layer) => layer.outputs.server?.value as DatabaseServerInfo | undefined)
      .filter((server): server is DatabaseServerInfo => server?.adminSecret !== undefined),
  };
}

/**
 * The machines of a rehearsal: two servers on this machine (a PostgreSQL server and a directory
 * each), one storage directory that an rclone alias remote serves as the backup storage, the
 * placement file and the apps' secrets files. Everything a cluster object does lands here, so a
 * fresh `RehearsalCluster` over the same rehearsal continues where another one was killed.
 */
export class Rehearsal {
  /** The DNS records' overlaps seen: one hostname with records on two stacks at once. */
  readonly dnsViolations: string[] = [];
  /** Its jobs run one at a time: they share one pod directory. */
  readonly podQueue = oneAtATime();
  private readonly secretsFiles = new Map<string, Record<string, string>>();
  private readonly remotes = new Set<string>();
  private readonly repositories = new Map<string, string>();
  private storage: string;

  private constructor(
    readonly root: string,
    readonly servers: Map<string, RehearsalServer>,
  ) {
    this.storage = this.storageDir;
  }

  /** Starts the servers' PostgreSQL (in `parent`, a temporary directory by default). */
  static async start(parent = tmpdir()): Promise<Rehearsal> {
    const root = await mkdtemp(join(parent, "rehearsal-"));
    const servers = await Promise.all(
      rehearsalServers.map(async (name) => {
        const dir = join(root, "servers", name);
        await mkdir(dir, { recursive: true });
        const database = await startDatabaseServer("postgresql", join(dir, "postgresql"), adminPassword);
        return new RehearsalServer(name, dir, database);
      }),
    );
    for (const dir of ["work", "restic-cache"]) await mkdir(join(root, dir));
    return new Rehearsal(root, new Map(servers.map((server) => [server.name, server])));
  }

  get placementPath(): string {
    return join(this.root, "placement.yaml");
  }

  /** The directory the storage remote serves. */
  get storageDir(): string {
    return join(this.root, "storage");
  }

  get rcloneConfig(): string {
    return join(this.root, "rclone.conf");
  }

  get resticCache(): string {
    return join(this.root, "restic-cache");
  }

  get workDir(): string {
    return join(this.root, "work");
  }

  /** The directory of an app's repository in the storage. */
  repositoryDir(app: string): string {
    const dir = this.repositories.get(app);
    if (!dir) throw new Error(`the rehearsal has no repository of ${app} (reset places it)`);
    return dir;
  }

  server(name: string): RehearsalServer {
    const server = this.servers.get(name);
    if (!server)
      throw new Error(`the rehearsal has no server ${name}; it has ${[...this.servers.keys()].join(", ")}`);
    return server;
  }

  /** Points the storage remote at another directory (a missing one: unreachable storage); none: back to the storage. */
  pointStorageAt(dir?: string): void {
    this.storage = dir ?? this.storageDir;
    this.writeRcloneConfig();
  }

  private writeRcloneConfig(): void {
    const sections = [...this.remotes].map((name) => `[${name}]\ntype = alias\nremote = ${this.storage}\n`);
    writeFileSync(this.rcloneConfig, sections.join("\n"));
  }

  /**
   * Starts over with `apps` (app → server) placed and nothing deployed: no app database on either
   * server, no volumes, an empty storage holding the marker of each app's repository (as `task
   * backup:init-repository` leaves it), and every layer the apps need deployed on every server.
   */
  async reset(apps: Record<string, string>): Promise<void> {
    await rm(this.storageDir, { recursive: true, force: true });
    await mkdir(this.storageDir);
    const placement = stringify({ apps });
    writeFileSync(this.placementPath, placement);
    this.dnsViolations.length = 0;
    const layers = new Map<string, string[]>();
    for (const [app, home] of Object.entries(apps)) {
      const rendering = await this.render(home, app, placement);
      for (const entry of (rendering.outputs.backups ?? []) as { repository: string }[]) {
        const [, remote, path] = /^rclone:([^:]+):(.+)$/.exec(entry.repository) ?? [];
        if (!remote || !path)
          throw new Error(`the rehearsal's storage is an rclone remote, not ${entry.repository}`);
        this.remotes.add(remote);
        this.repositories.set(app, join(this.storageDir, path));
        await mkdir(join(this.storageDir, path), { recursive: true });
        await writeFile(join(this.storageDir, path, ".homelab-repository"), "homelab backup repository\n");
      }
      for (const server of this.servers.keys()) {
        const there = await this.render(server, app, stringify({ apps: { ...apps, [app]: server } }));
        const known = layers.get(server) ?? [];
        for (const project of there.projects) {
          if (!(project in apps) && !known.includes(project)) known.push(project);
        }
        layers.set(server, known);
      }
    }
    for (const server of this.servers.values()) await server.clear(layers.get(server.name) ?? []);
    this.pointStorageAt();
  }

  /** The values of an app's secrets file, the same for every server (generated once per rehearsal). */
  secretsFile(app: string): Record<string, string> {
    let values = this.secretsFiles.get(app);
    if (!values) {
      values = Object.fromEntries(
        Object.keys(appSecretsFile(repositoryRoot, app).spec).map((key) => [
          key,
          randomBytes(24).toString("base64url"),
        ]),
      );
      this.secretsFiles.set(app, values);
    }
    return values;
  }

  /**
   * Synth gives every stack its own placeholders for a secrets file (it never decrypts): each is
   * replaced by the file's value, as every server reads the same file.
   */
  private secretsOf(stack: string, app: string): Map<string, string> {
    const file = join(repositoryRoot, appSecretsFile(repositoryRoot, app).path);
    const answer = answerInvoke(
      "command:local:run",
      { command: decryptCommand(file) },
      { stack, cwd: projectsDir },
    );
    const placeholders = JSON.parse(String(answer.result.stdout)) as Record<string, string>;
    const values = this.secretsFile(app);
    return new Map(
      Object.entries(placeholders).flatMap(([key, placeholder]) =>
        values[key] === undefined ? [] : [[placeholder, values[key]] as [string, string]],
      ),
    );
  }

  /**
   * The project rendered on a stack with this placement, with this rehearsal's secrets. A program
   * sees the placement only through what each app is on the stack (`appOnStack`), and a
   * migration's snapshot only as the id it writes into the restore job: synth runs once per such
   * view, with a stand-in id that each rendering replaces by the real one (a program that derived
   * anything else from the id would restore the stand-in, which no repository has, and fail).
   */
  async render(stack: string, project: string, placementText: string): Promise<Rendering> {
    const placement = parsePlacement(placementText, this.placementPath);
    const replacements = new Map<string, string>();
    const general: Placement = {};
    for (const [app, entry] of Object.entries(placement)) {
      const snapshot = entry.migration?.snapshot;
      if (!entry.migration || !snapshot) {
        general[app] = entry;
        continue;
      }
      const standIn = createHash("sha256").update(`rehearsal stand-in snapshot of ${app}`).digest("hex");
      replacements.set(standIn, snapshot);
      general[app] = { ...entry, migration: { ...entry.migration, snapshot: standIn } };
    }
    const key = JSON.stringify([
      stack,
      project,
      Object.keys(general)
        .sort()
        .map((app) => [app, appOnStack(general, app, stack)]),
    ]);
    let rendering = renderings.get(key);
    if (!rendering) {
      rendering = serialized(() => synthesize(stack, project, stringify({ apps: general }), this.workDir));
      renderings.set(key, rendering);
      rendering.catch(() => renderings.delete(key));
    }
    if (project in placement) {
      for (const [placeholder, value] of this.secretsOf(stack, project)) replacements.set(placeholder, value);
    }
    return replaceStrings(await rendering, (text) => {
      let replaced = text;
      for (const [from, to] of replacements) replaced = replaced.replaceAll(from, to);
      return replaced;
    }) as Rendering;
  }

  /** Records the hostnames `project` has on `stack` now, and every one that another stack has too. */
  recordDns(stack: string, project: string, names: string[], during: string): void {
    for (const name of names) {
      for (const other of this.servers.values()) {
        if (other.name === stack) continue;
        const holders = Object.entries(other.readState().projects).filter(([, deployed]) =>
          deployed.dns.includes(name),
        );
        for (const [holder] of holders) {
          this.dnsViolations.push(
            `${name} has records on ${stack} (${project}) and ${other.name} (${holder}), after ${during}`,
          );
        }
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((server) => server.database.stop()));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A kill of the migration at a cluster call, before the call or after its work. */
export class Interrupted extends Error {
  override name = "Interrupted";

  constructor(
    readonly call: number,
    readonly what: string,
    readonly when: "before" | "after",
  ) {
    super(`interrupted ${when} cluster call ${call} (${what})`);
  }
}

export interface RehearsalClusterOptions {
  /** Kills the run at the `at`-th cluster call (counted from 1): after it did its work, or before it. */
  interrupt?: { at: number; when: "before" | "after" };
}

/** A row the stand-in app keeps: one in its database, and one file in its volume. */
export interface AppRow {
  id: string;
  body: string;
}

/** A job as a server has it applied, to run now or later (after the app left the server). */
export interface KeptJob {
  run(): Promise<RunResult>;
}

/**
 * The `Cluster` of a migration over a rehearsal's servers: each call does to the local data what
 * the real one does to the cluster. A deploy synthesizes the project with the placement file as it
 * is and applies it as Pulumi and Kubernetes would: on the first deployment of the app on a server
 * its rendered database and restore jobs run (the rendered scripts, with the jobs' variables,
 * secrets and mounts moved to the server's directory and PostgreSQL); its Deployment's replicas
 * say whether the app runs; a server that renders nothing for an app it has stops it, runs its
 * rendered final backup and deletes its volumes.
 */
export class RehearsalCluster implements Cluster {
  /** The calls made, each with the placement file as it was when it began. */
  readonly calls: { what: string; placement: string }[] = [];

  constructor(
    readonly rehearsal: Rehearsal,
    private readonly options: RehearsalClusterOptions = {},
  ) {}

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    this.calls.push({ what, placement: readFileSync(this.rehearsal.placementPath, "utf8") });
    const index = this.calls.length;
    const interrupt = this.options.interrupt;
    if (interrupt?.at === index && interrupt.when === "before") throw new Interrupted(index, what, "before");
    const result = await work();
    if (interrupt?.at === index && interrupt.when === "after") throw new Interrupted(index, what, "after");
    return result;
  }

  private isApp(project: string): boolean {
    return project in parsePlacement(readFileSync(this.rehearsal.placementPath, "utf8"), "placement");
  }

  deploy(stack: string, project: string, options: { skipFinalBackup?: boolean } = {}): Promise<void> {
    return this.call(`deploy ${stack} ${project}`, async () => {
      const server = this.rehearsal.server(stack);
      if (!this.isApp(project)) {
        const state = server.readState();
        if (!state.layers.includes(project))
          server.writeState({ ...state, layers: [...state.layers, project] });
        return;
      }
      const placement = readFileSync(this.rehearsal.placementPath, "utf8");
      const rendering = await this.rehearsal.render(stack, project, placement);
      const before = server.readState().projects[project];
      if (rendering.objects.length === 0) {
        if (before) await this.remove(server, project, options.skipFinalBackup ?? false);
        return;
      }
      await this.apply(server, project, rendering, before);
    });
  }

  /** What `pulumi up` does with a rendering: DNS records, then (once) the jobs, then the workloads. */
  private async apply(
    server: RehearsalServer,
    project: string,
    rendering: Rendering,
    before: DeployedProject | undefined,
  ): Promise<void> {
    const { projects: _, ...applied } = rendering;
    const deployed: DeployedProject = {
      ...structuredClone(applied),
      jobsDone: before?.jobsDone ?? [],
      running: before?.running ?? false,
    };
    const save = () => {
      const state = server.readState();
      server.writeState({ ...state, projects: { ...state.projects, [project]: deployed } });
    };
    save();
    this.rehearsal.recordDns(server.name, project, deployed.dns, `deploy ${server.name} ${project}`);
    for (const claim of deployed.objects.filter((object) => object.kind === "PersistentVolumeClaim")) {
      await mkdir(server.volumeDir(claim.metadata.namespace, claim.metadata.name), { recursive: true });
    }
    for (const job of deployed.objects.filter((object) => object.kind === "Job")) {
      const id = `${job.metadata.namespace}/${job.metadata.name}`;
      if (deployed.jobsDone.includes(id)) continue;
      // A failed job fails the up, and what depends on it (the app's workload) is not created.
      const result = await runJob(this.rehearsal, server, deployed, job);
      if (result.code !== 0) {
        throw new Error(
          `pulumi up of ${project} on ${server.name} failed: job ${id} failed:\n${result.stderr}`,
        );
      }
      deployed.jobsDone.push(id);
      save();
    }
    deployed.running = workloadsOf(deployed).some((workload) => (workload.spec?.replicas ?? 1) > 0);
    save();
  }

  /** What `pulumi up` of a project that renders nothing does to one deployed: the final-backup command's delete. */
  private async remove(server: RehearsalServer, project: string, skipFinalBackup: boolean): Promise<void> {
    const state = server.readState();
    const deployed = state.projects[project] as DeployedProject;
    deployed.running = false;
    server.writeState({ ...state, projects: { ...state.projects, [project]: deployed } });
    if (!skipFinalBackup) {
      for (const command of deployed.finalBackups) {
        const template = find(deployed.objects, "CronJob", command.namespace, command.cronJob);
        const result = await runJob(this.rehearsal, server, deployed, template);
        if (result.code !== 0) {
          throw new Error(
            `pulumi up of ${project} on ${server.name} failed: the final backup failed, the volumes are kept:\n${result.stderr}`,
          );
        }
      }
    }
    for (const claim of deployed.objects.filter((object) => object.kind === "PersistentVolumeClaim")) {
      await rm(dirname(server.volumeDir(claim.metadata.namespace, claim.metadata.name)), {
        recursive: true,
        force: true,
      });
    }
    const { [project]: _, ...others } = server.readState().projects;
    server.writeState({ ...server.readState(), projects: others });
  }

  private deployedApp(stack: string, app: string): DeployedProject | undefined {
    return this.rehearsal.server(stack).readState().projects[app];
  }

  waitStopped(stack: string, app: string): Promise<void> {
    return this.call(`waitStopped ${stack} ${app}`, async () => {
      if (this.deployedApp(stack, app)?.running) throw new Error(`${app}'s pods still run on ${stack}`);
    });
  }

  waitHealthy(stack: string, app: string): Promise<void> {
    return this.call(`waitHealthy ${stack} ${app}`, async () => {
      if (!this.deployedApp(stack, app)?.running)
        throw new Error(`${app} has no running workload on ${stack}`);
    });
  }

  finalBackup(stack: string, app: string): Promise<void> {
    return this.call(`finalBackup ${stack} ${app}`, async () => {
      const server = this.rehearsal.server(stack);
      const deployed = this.requireDeployed(stack, app);
      const command = deployed.finalBackups.find((candidate) => candidate.app === app);
      if (!command) throw new Error(`${app} has no final backup on ${stack}`);
      const result = await runJob(
        this.rehearsal,
        server,
        deployed,
        find(deployed.objects, "CronJob", command.namespace, command.cronJob),
      );
      if (result.code !== 0)
        throw new Error(`the final backup of ${app} on ${stack} failed:\n${result.stderr}`);
    });
  }

  destroy(stack: string, project: string): Promise<void> {
    return this.call(`destroy ${stack} ${project}`, async () => {
      const server = this.rehearsal.server(stack);
      const state = server.readState();
      if (state.projects[project]) await this.remove(server, project, false);
      else server.writeState({ ...state, layers: state.layers.filter((layer) => layer !== project) });
    });
  }

  servers(): Promise<string[]> {
    return this.call("servers", async () => [...rehearsalServers]);
  }

  deployed(stack: string): Promise<string[]> {
    return this.call(`deployed ${stack}`, async () => {
      const state = this.rehearsal.server(stack).readState();
      return [...state.layers, ...Object.keys(state.projects)];
    });
  }

  layerOrder(stack: string): Promise<string[]> {
    return this.call(`layerOrder ${stack}`, async () => {
      const state = this.rehearsal.server(stack).readState();
      return [...state.layers, ...Object.keys(state.projects)];
    });
  }

  layersOf(app: string, stack: string): Promise<string[]> {
    return this.call(`layersOf ${app} ${stack}`, async () => {
      const rendering = await this.rehearsal.render(stack, app, stringify({ apps: { [app]: stack } }));
      return rendering.projects;
    });
  }

  backups(stack: string, app: string): Promise<AppBackups | undefined> {
    return this.call(`backups ${stack} ${app}`, async () => {
      const deployed = this.deployedApp(stack, app);
      return deployed ? this.backupsOf(stack, app, deployed) : undefined;
    });
  }

  private async backupsOf(
    stack: string,
    app: string,
    deployed: DeployedProject,
  ): Promise<AppBackups | undefined> {
    const entry = (
      (deployed.outputs.backups ?? []) as {
        app: string;
        repository: string;
        database?: AppDatabase;
        buckets?: string[];
      }[]
    ).find((candidate) => candidate.app === app);
    const command = deployed.finalBackups.find((candidate) => candidate.app === app);
    if (!entry || !command) return undefined;
    // The password the jobs mount: that of the Secret behind RESTIC_PASSWORD_FILE.
    const job = find(deployed.objects, "CronJob", command.namespace, command.scheduledCronJob);
    const passwordPath = envOf(job).RESTIC_PASSWORD_FILE ?? "";
    const passwordFile = join(this.rehearsal.workDir, `${stack}-${app}.password`);
    writeFileSync(passwordFile, mountedSecretFile(deployed, job, passwordPath), { mode: 0o600 });
    return {
      repository: new AppRepository(app, {
        RESTIC_REPOSITORY: entry.repository,
        RESTIC_PASSWORD_FILE: passwordFile,
        RCLONE_CONFIG: this.rehearsal.rcloneConfig,
        RESTIC_CACHE_DIR: this.rehearsal.resticCache,
      }),
      ...(entry.database ? { database: entry.database } : {}),
      ...(entry.buckets ? { buckets: entry.buckets } : {}),
    };
  }

  clusterSecretsFingerprint(stack: string, app: string): Promise<string | undefined> {
    return this.call(`clusterSecretsFingerprint ${stack} ${app}`, async () => {
      const deployed = this.deployedApp(stack, app);
      const stable = deployed?.objects.find(
        (object) => object.kind === "Secret" && object.metadata?.name === `${app}-stable`,
      );
      return stable ? fingerprint(secretEntries(stable)) : undefined;
    });
  }

  fileSecretsFingerprint(app: string): Promise<string | undefined> {
    return this.call(`fileSecretsFingerprint ${app}`, async () =>
      fingerprint(
        Object.fromEntries(
          Object.entries(this.rehearsal.secretsFile(app)).filter(([key]) => !(key in backupSecrets)),
        ),
      ),
    );
  }

  freeBytes(stack: string): Promise<number> {
    return this.call(`freeBytes ${stack}`, async () => {
      const space = await statfs(this.rehearsal.server(stack).dir);
      return space.bavail * space.bsize;
    });
  }

  dropDatabase(stack: string, database: AppDatabase): Promise<void> {
    return this.call(`dropDatabase ${stack} ${database.name}`, async () => {
      if (database.kind !== "postgresql")
        throw new Error(`the rehearsal's servers run PostgreSQL, not ${database.kind}`);
      await this.rehearsal.server(stack).dropDatabase(database.name, database.user);
    });
  }

  private requireDeployed(stack: string, app: string): DeployedProject {
    const deployed = this.deployedApp(stack, app);
    if (!deployed) throw new Error(`${app} is not deployed on ${stack}`);
    return deployed;
  }

  /** The app's own database and account on a server, as its pods connect (its rendered database Secret). */
  appLogin(stack: string, app: string): { user: string; password: string; database: string } {
    const deployed = this.requireDeployed(stack, app);
    const entry = ((deployed.outputs.backups ?? []) as { app: string; database?: AppDatabase }[]).find(
      (candidate) => candidate.app === app,
    );
    const database = entry?.database;
    if (!database) throw new Error(`${app} has no database on ${stack}`);
    const secret = deployed.objects
      .filter((object) => object.kind === "Secret")
      .map(secretEntries)
      .find((entries) => entries.username === database.user && entries.database === database.name);
    if (!secret?.password) throw new Error(`${app} has no Secret with its database's password on ${stack}`);
    return { user: database.user, password: secret.password, database: database.name };
  }

  /** The directory of the app's volume on a server (the first its workload mounts). */
  appVolume(stack: string, app: string): string {
    const deployed = this.requireDeployed(stack, app);
    const [workload] = workloadsOf(deployed);
    const claim = (podSpecOf(workload ?? {}).volumes ?? []).find(
      (volume: Manifest) => volume.persistentVolumeClaim,
    );
    if (!workload || !claim) throw new Error(`${app} mounts no volume on ${stack}`);
    return this.rehearsal
      .server(stack)
      .volumeDir(workload.metadata.namespace, claim.persistentVolumeClaim.claimName);
  }

  /**
   * What a user's change does through the app: a row in its database (as the app's account) and a
   * file in its volume. Refused where the app does not run: no pod would serve it.
   */
  async write(stack: string, app: string, row: AppRow): Promise<void> {
    if (!this.deployedApp(stack, app)?.running) {
      throw new Error(`${app} does not run on ${stack}: no pod serves the write of ${row.id}`);
    }
    const login = this.appLogin(stack, app);
    await this.rehearsal
      .server(stack)
      .database.sql(
        "CREATE TABLE IF NOT EXISTS rehearsal_rows (id text PRIMARY KEY, body text NOT NULL);" +
          `INSERT INTO rehearsal_rows VALUES (${literal(row.id)}, ${literal(row.body)});`,
        login,
      );
    const file = join(this.appVolume(stack, app), "rehearsal", row.id);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, row.body);
    await utimes(file, writtenAt, writtenAt);
  }

  /** The app's rows on a server, as the app reads them. */
  rows(stack: string, app: string): Promise<string> {
    return this.rehearsal
      .server(stack)
      .database.sql("SELECT id, body FROM rehearsal_rows ORDER BY id", this.appLogin(stack, app));
  }

  /** The app's scheduled backup job as the server has it now; it runs as applied, also once the app left. */
  scheduledBackupJob(stack: string, app: string): KeptJob {
    const server = this.rehearsal.server(stack);
    const deployed = structuredClone(this.requireDeployed(stack, app));
    const command = deployed.finalBackups.find((candidate) => candidate.app === app);
    if (!command) throw new Error(`${app} has no backups on ${stack}`);
    const job = find(deployed.objects, "CronJob", command.namespace, command.scheduledCronJob);
    return { run: () => runJob(this.rehearsal, server, deployed, job) };
  }
}

function workloadsOf(deployed: DeployedProject): Manifest[] {
  return deployed.objects.filter((object) => object.kind === "Deployment" || object.kind === "StatefulSet");
}

function containerOf(manifest: Manifest): Manifest {
  const [container] = podSpecOf(manifest).containers as Manifest[];
  if (!container) throw new Error(`${manifest.kind} ${manifest.metadata?.name} has no container`);
  return container;
}

function envOf(manifest: Manifest): Record<string, string> {
  return Object.fromEntries(
    ((containerOf(manifest).env ?? []) as Manifest[])
      .filter((variable) => variable.value !== undefined)
      .map((variable) => [variable.name, String(variable.value)]),
  );
}

/** The content of a file a job reads from a mounted Secret (`/secrets/restic/password`). */
function mountedSecretFile(deployed: DeployedProject, job: Manifest, path: string): string {
  const mount = ((containerOf(job).volumeMounts ?? []) as Manifest[]).find(
    (candidate) => dirname(path) === candidate.mountPath,
  );
  const volume = ((podSpecOf(job).volumes ?? []) as Manifest[]).find(
    (candidate) => candidate.name === mount?.name,
  );
  if (!volume?.secret) throw new Error(`${job.metadata.name} mounts no Secret at ${dirname(path)}`);
  const value = secretEntries(
    find(deployed.objects, "Secret", job.metadata.namespace, volume.secret.secretName),
  )[basename(path)];
  if (value === undefined) throw new Error(`Secret ${volume.secret.secretName} has no ${basename(path)}`);
  return value;
}

/**
 * Runs a rendered Job (or a job of a CronJob) on a server as its pod would: its volumes made in a
 * pod directory (ConfigMaps and Secrets as files, claims the server's volumes, mounted where the
 * pod mounts them), its variables as rendered, Secret references resolved, the cluster's names of
 * the database server and the storage replaced by this machine's. Its init containers (copying
 * restic and rclone from their images) are this machine's installed tools.
 */
function runJob(
  rehearsal: Rehearsal,
  server: RehearsalServer,
  deployed: DeployedProject,
  job: Manifest,
): Promise<RunResult> {
  return rehearsal.podQueue(() => runPod(rehearsal, server, deployed, job));
}

async function runPod(
  rehearsal: Rehearsal,
  server: RehearsalServer,
  deployed: DeployedProject,
  job: Manifest,
): Promise<RunResult> {
  const namespace = String(job.metadata.namespace);
  const pod = podSpecOf(job);
  const container = containerOf(job);
  // One place for every pod, as every pod has the same paths: restic finds a backup's parent
  // snapshot by its paths (BACKUP_DIR), and reads only what changed since.
  const podDir = join(rehearsal.root, "pod");
  await rm(podDir, { recursive: true, force: true });
  const secret = (name: string): Record<string, string> => {
    const applied = deployed.objects.find(
      (object) =>
        object.kind === "Secret" &&
        object.metadata?.name === name &&
        object.metadata?.namespace === namespace,
    );
    if (applied) return secretEntries(applied);
    // The database server's admin Secret is its layer's, which the server's PostgreSQL was started with.
    const layer = deployed.databaseServers.find(
      (candidate) => candidate.namespace === namespace && candidate.adminSecret.name === name,
    );
    if (layer) return { [layer.adminSecret.key]: server.database.admin.password };
    throw new Error(`no Secret ${namespace}/${name} on ${server.name} for ${job.metadata.name}`);
  };
  const volumes = new Map<string, string>();
  for (const volume of (pod.volumes ?? []) as Manifest[]) {
    const dir = join(podDir, "volumes", volume.name);
    if (volume.persistentVolumeClaim) {
      const claimDir = server.volumeDir(namespace, volume.persistentVolumeClaim.claimName);
      // A claim whose volume is gone is provisioned again, empty.
      await mkdir(claimDir, { recursive: true });
      volumes.set(volume.name, claimDir);
      continue;
    }
    await mkdir(dir, { recursive: true });
    if (volume.configMap) {
      await writeBundle(find(deployed.objects, "ConfigMap", namespace, volume.configMap.name).data, dir);
    } else if (volume.secret) {
      for (const [key, value] of Object.entries(secret(volume.secret.secretName)))
        await writeFile(join(dir, key), value);
    } else if (!volume.emptyDir) {
      throw new Error(`the rehearsal cannot mount volume ${volume.name} of ${job.metadata.name}`);
    }
    volumes.set(volume.name, dir);
  }
  // Mounts inside another mount (a volume below the scratch directory) are moved into it, and back.
  const paths: Record<string, string> = {};
  const moved: { at: string; back: string }[] = [];
  const mounts = [...((container.volumeMounts ?? []) as Manifest[])].sort(
    (a, b) => a.mountPath.length - b.mountPath.length,
  );
  try {
    for (const mount of mounts) {
      const local = volumes.get(mount.name) as string;
      const parent = Object.keys(paths)
        .filter((path) => mount.mountPath.startsWith(`${path}/`))
        .sort((a, b) => b.length - a.length)[0];
      if (parent === undefined) {
        paths[mount.mountPath] = local;
        continue;
      }
      const at = join(paths[parent] as string, mount.mountPath.slice(parent.length + 1));
      await mkdir(dirname(at), { recursive: true });
      await rename(local, at);
      moved.push({ at, back: local });
      paths[mount.mountPath] = at;
    }
    const env: Record<string, string> = {};
    for (const variable of (container.env ?? []) as Manifest[]) {
      const ref = variable.valueFrom?.secretKeyRef;
      const value = ref ? secret(ref.name)[ref.key] : variable.value;
      if (value === undefined) throw new Error(`no value for ${variable.name} of ${job.metadata.name}`);
      env[variable.name] = String(value);
    }
    const database = deployed.databaseServers.find((candidate) => candidate.host === env.DB_HOST);
    const overrides: Record<string, string> = {
      ...(database ? { DB_HOST: "127.0.0.1", DB_PORT: String(server.database.port) } : {}),
      ...(env.RCLONE_CONFIG ? { RCLONE_CONFIG: rehearsal.rcloneConfig } : {}),
      ...(paths["/tmp"] ? { TMPDIR: paths["/tmp"] } : {}),
    };
    const [command, ...args] = [...(container.command ?? []), ...(container.args ?? [])].map((arg: string) =>
      movedPath(arg, paths),
    );
    if (!command) throw new Error(`${job.metadata.name} has no command`);
    return await run(command, args, { env: localEnv(env, paths, overrides) });
  } finally {
    for (const { at, back } of moved.reverse()) await rename(at, back);
    await rm(podDir, { recursive: true, force: true });
  }
}
