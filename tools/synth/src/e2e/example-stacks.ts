import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findServersDir, readPlacement, readServers } from "@infra/core";
import { parse, parseAllDocuments } from "yaml";
import { discoverProjects, readProject } from "../projects";
import { buildModel, type Model, stackObjects } from "../reachability";
import { synthAndValidate } from "../report";
import { type ResourceRecord, runProgram } from "../run-program";
import { unwrapSecrets } from "../secrets";
import { readStackConfig, type StackConfig } from "../stack-config";
import { type ExampleValue, exampleValues } from "../validate/config";
import { isKubernetesObject } from "../write";

const repoRoot = resolve(__dirname, "..", "..", "..", "..");
const projectsDir = join(repoRoot, "pulumi", "projects");

/** The stacks of the repository: one per server it describes (servers/<name>.json). */
export const exampleStacks: readonly string[] = readServers().servers.map((server) => server.name);

/** One resource as synth writes it to resources.json. */
export interface WrittenResource {
  type: string;
  name: string;
  urn: string;
  parent: string | null;
  dependsOn: string[];
  provider: string | null;
  read: boolean;
  inputs: Record<string, any>;
}

/** The output contract synth wrote for some projects of the example stacks, read back from disk. */
export interface ExampleOutput {
  /** Every problem synth and validation reported. */
  problems: string[];
  /** The projects of a stack in the order they ran, from order.json. */
  order(stack: string): { project: string; reads: Record<string, string[]> }[];
  manifests(stack: string, project: string): Record<string, any>[];
  /** The object of a kind and name a project rendered; fails the test when there is none. */
  manifest(stack: string, project: string, kind: string, name: string): Record<string, any>;
  resources(stack: string, project: string): WrittenResource[];
  /**
   * The resource of a type and name (`<namespace>/<name>` for namespaced objects) a project
   * created, with its urn and dependencies; fails the test when there is none.
   */
  resource(stack: string, project: string, type: string, name: string): WrittenResource;
  /** The Helm release a project installs (its resources.json inputs). */
  release(stack: string, project: string): Record<string, any>;
  outputs(stack: string, project: string): Record<string, any>;
  /** Every file written for a stack, with its text. */
  files(stack: string): { path: string; text: string }[];
  /**
   * The stack's backup settings as `backup:*` keys: the site's target (servers/site.json backup)
   * with what the shared project's stack file sets over it.
   */
  backupConfig(stack: string): Record<string, any>;
  /** The example values left for a stack, as synth lists them: the site's and the stack's own. */
  exampleValues(stack: string): ExampleValue[];
  /** A project's config of a stack, as written in its Pulumi.<stack>.yaml. */
  config(stack: string, project: string): Record<string, any>;
  /**
   * The stack's reachability model, as validation builds it: the Cilium policies of every project
   * synth ran, and the pods of their Helm releases (Traefik, the tailnet router).
   */
  model(stack: string): Model;
  /** The Cilium policies a project renders whose endpoint selector is exactly these labels. */
  policiesSelecting(
    stack: string,
    project: string,
    matchLabels: Record<string, string>,
  ): Record<string, any>[];
  /** The fields of a project's DNS record (`<namespace>/<name>`) that matter: where it points, and whether Cloudflare proxies it. */
  dnsRecord(stack: string, project: string, name: string): DnsRecord;
  /**
   * How an app exposes one of its services through a gateway: the hostnames and rules of its
   * HTTPRoute `name`, the class and HTTPS certificate of its Gateway `name`, its Cloudflare record
   * `<namespace>/<name>` (a public name's) and the address its `privateNames` output gives the
   * hostname (a private name's).
   */
  exposure(stack: string, project: string, name: string): Exposure;
  /** The private names a project records for the tailnet's private DNS (its `privateNames` output). */
  privateNames(stack: string, project: string): PrivateName[];
  /** An app's backup jobs, which all use its one repository: the scheduled and final backups, and the restore. */
  backupJobs(stack: string, app: string): Record<string, any>[];
  /**
   * Runs a project of a stack again with its config changed (`change` edits the values the CLI
   * would pass, and may mark keys secret), against the exports of the projects synth ran.
   */
  rerun(stack: string, project: string, change: (config: StackConfig) => void): Promise<Rerun>;
  remove(): void;
}

/** What a project rendered when run again with other config: its objects with secrets unwrapped. */
export interface Rerun {
  errors: string[];
  resources: ResourceRecord[];
  manifests: Record<string, any>[];
  /** The object of a kind and name it rendered; fails the test (with the run's errors) when there is none. */
  manifest(kind: string, name: string): Record<string, any>;
}

/** What `ExampleOutput.dnsRecord` reads of a DNS record. */
export interface DnsRecord {
  name: string;
  type: string;
  content: string;
  proxied: boolean;
}

/** A name of the private zone and its address in the tailnet, as a project's `privateNames` output lists it. */
export interface PrivateName {
  hostname: string;
  address: string;
}

/** What `ExampleOutput.exposure` reads of an exposure. */
export interface Exposure {
  hostnames: string[];
  rules: Record<string, any>[];
  gatewayClass: string;
  /** The HTTPS listener's certificate: its own Secret (public), or the server's wildcard certificate's (private). */
  certificateRefs: Record<string, any>[];
  /** Its Cloudflare record; none for a private name, which is never published. */
  record: DnsRecord | undefined;
  /** The address the project's `privateNames` output gives its hostname; none for a public name. */
  privateAddress: string | undefined;
}

/** The server's wildcard certificate's Secret, as every private exposure's HTTPS listener refers to it. */
export const wildcardCertificateRef = {
  group: "",
  kind: "Secret",
  name: "private-wildcard-tls",
  namespace: "internal-gateway-tls",
};

/**
 * A `rerun` change that sets a project's keys as `pulumi config set` would: each of `settings`
 * (objects and arrays as JSON), and each of `secrets`, marked secret.
 */
export function setConfig(
  project: string,
  settings: Record<string, unknown>,
  secrets: Record<string, string> = {},
): (config: StackConfig) => void {
  return (config) => {
    for (const [key, value] of Object.entries(settings)) {
      config.values[`${project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    for (const [key, value] of Object.entries(secrets)) {
      config.values[`${project}:${key}`] = value;
      config.secretKeys.push(`${project}:${key}`);
    }
  };
}

/**
 * The example stacks a project renders on: an app's server in pulumi/placement.yaml; for any
 * other project, each stack it has a stack file for.
 */
export function placement(project: string): string[] {
  const app = readPlacement()[project];
  if (app) return exampleStacks.filter((stack) => stack === app.server);
  return exampleStacks.filter((stack) => existsSync(join(projectsDir, project, `Pulumi.${stack}.yaml`)));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

/**
 * Synthesizes and validates `projects` (with every project they reference; every project when
 * omitted) on the example stacks into a temporary directory, exactly as `yarn synth` does, and
 * reads what it wrote.
 */
export async function synthExampleStacks(projects?: string[]): Promise<ExampleOutput> {
  const outDir = mkdtempSync(join(tmpdir(), "synth-e2e-"));
  const report = await synthAndValidate({
    projectsDir,
    workspaceRoots: [join(repoRoot, "pulumi")],
    outDir,
    validate: true,
    stacks: [...exampleStacks],
    ...(projects ? { projects } : {}),
  });
  const projectDir = (stack: string, project: string) => join(outDir, stack, project);
  const manifests = (stack: string, project: string) =>
    parseAllDocuments(readFileSync(join(projectDir(stack, project), "manifests.yaml"), "utf8")).map(
      (document) => document.toJS() as Record<string, any>,
    );
  const resources = (stack: string, project: string): WrittenResource[] =>
    readJson(join(projectDir(stack, project), "resources.json"));
  const manifest = (stack: string, project: string, kind: string, name: string) => {
    const found = manifests(stack, project).find(
      (object) => object.kind === kind && object.metadata?.name === name,
    );
    assert.ok(found, `${stack}/${project} rendered no ${kind} ${name}`);
    return found;
  };
  const resource = (stack: string, project: string, type: string, name: string) => {
    const found = resources(stack, project).find(
      (candidate) => candidate.type === type && candidate.name === name,
    );
    assert.ok(found, `${stack}/${project} has no ${type} ${name}`);
    return found;
  };
  const dnsRecord = (stack: string, project: string, name: string): DnsRecord => {
    const record = resource(stack, project, "cloudflare:index/dnsRecord:DnsRecord", name).inputs;
    return { name: record.name, type: record.type, content: record.content, proxied: record.proxied };
  };
  const outputs = (stack: string, project: string) =>
    readJson(join(projectDir(stack, project), "outputs.json"));
  const privateNames = (stack: string, project: string): PrivateName[] =>
    outputs(stack, project).privateNames ?? [];
  const models = new Map<string, Model>();
  return {
    problems: report.problems,
    order: (stack) => readJson(join(outDir, stack, "order.json")).projects,
    manifests,
    manifest,
    resources,
    resource,
    release(stack, project) {
      const releases = resources(stack, project).filter(
        (resource) => resource.type === "kubernetes:helm.sh/v3:Release",
      );
      assert.equal(releases.length, 1, `${stack}/${project} should install exactly one Helm release`);
      return (releases[0] as WrittenResource).inputs;
    },
    outputs,
    files: (stack) =>
      listFiles(join(outDir, stack)).map((path) => ({ path, text: readFileSync(path, "utf8") })),
    backupConfig(stack) {
      const site = readServers(findServersDir(projectsDir)).site?.backup ?? {};
      const stackFile =
        parse(readFileSync(join(projectsDir, "shared", `Pulumi.${stack}.yaml`), "utf8"))?.config ?? {};
      return {
        ...Object.fromEntries(Object.entries(site).map(([key, value]) => [`backup:${key}`, value])),
        ...Object.fromEntries(Object.entries(stackFile).filter(([key]) => key.startsWith("backup:"))),
      };
    },
    exampleValues: (stack) => exampleValues(discoverProjects(projectsDir).values(), [stack], projectsDir),
    config: (stack, project) =>
      parse(readFileSync(join(projectsDir, project, `Pulumi.${stack}.yaml`), "utf8"))?.config ?? {},
    model(stack) {
      const cached = models.get(stack);
      if (cached) return cached;
      const synth = report.results.find((result) => result.stack === stack);
      assert.ok(synth, `synth returned no stack ${stack}`);
      const projects = stackObjects(synth);
      const model = buildModel(
        projects.flatMap((project) => project.manifests),
        { releases: projects.flatMap((project) => project.releases) },
      );
      models.set(stack, model);
      return model;
    },
    policiesSelecting: (stack, project, matchLabels) =>
      manifests(stack, project).filter(
        (object) =>
          object.kind === "CiliumNetworkPolicy" &&
          JSON.stringify(object.spec.endpointSelector) === JSON.stringify({ matchLabels }),
      ),
    dnsRecord,
    privateNames,
    exposure(stack, project, name) {
      const route = manifest(stack, project, "HTTPRoute", name);
      const gateway = manifest(stack, project, "Gateway", name);
      const https = gateway.spec.listeners.find((listener: Record<string, any>) => listener.name === "https");
      const recordName = `${route.metadata.namespace}/${name}`;
      const hasRecord = resources(stack, project).some(
        (candidate) =>
          candidate.type === "cloudflare:index/dnsRecord:DnsRecord" && candidate.name === recordName,
      );
      const hostnames: string[] = route.spec.hostnames;
      const recorded = privateNames(stack, project).filter((entry) => hostnames.includes(entry.hostname));
      assert.ok(recorded.length <= 1, `${stack}/${project} records ${hostnames.join(", ")} more than once`);
      return {
        hostnames,
        rules: route.spec.rules,
        gatewayClass: gateway.spec.gatewayClassName,
        certificateRefs: https?.tls?.certificateRefs ?? [],
        record: hasRecord ? dnsRecord(stack, project, recordName) : undefined,
        privateAddress: recorded[0]?.address,
      };
    },
    backupJobs: (stack, app) => [
      manifest(stack, app, "CronJob", `${app}-backup`),
      manifest(stack, app, "CronJob", `${app}-final-backup`),
      manifest(stack, app, "Job", `${app}-restore`),
    ],
    async rerun(stack, project, change) {
      const info = readProject(join(projectsDir, project));
      const config = readStackConfig(info, stack);
      change(config);
      const ran = report.results.find((result) => result.stack === stack)?.projects ?? [];
      const run = await runProgram(
        info,
        stack,
        config,
        (name) => ran.find((candidate) => candidate.project === name)?.outputs,
        [join(repoRoot, "pulumi")],
      );
      const rendered = run.resources
        .filter(isKubernetesObject)
        .map((object) => unwrapSecrets(object.inputs) as Record<string, any>);
      return {
        errors: run.errors,
        resources: run.resources,
        manifests: rendered,
        manifest(kind, name) {
          const found = rendered.find((object) => object.kind === kind && object.metadata?.name === name);
          assert.ok(found, `no ${kind} ${name}: ${run.errors.join("\n")}`);
          return found;
        },
      };
    },
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
