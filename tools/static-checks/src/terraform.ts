import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { parse } from "@cdktf/hcl2json";
import { REPO_ROOT } from "./repo";
import { unknownDescriptionFields } from "./servers";

/** The outputs every provider module and every instance root exports (DESIGN.md, "Servers and stacks"). */
export const SERVER_OUTPUTS = ["id", "internal_ip", "public_ip", "ssh_host", "ssh_port", "ssh_user"];

// Arguments of a module block that are not the module's input variables.
const MODULE_META_ARGUMENTS = new Set(["source", "version", "count", "for_each", "providers", "depends_on"]);

type Json = Record<string, unknown>;

export interface ModuleCall {
  name: string;
  source: string;
  arguments: string[];
}

export interface ProviderRequirement {
  name: string;
  source: string;
  version: string;
}

export interface TerraformModule {
  /** Directory, relative to the repository root. */
  dir: string;
  /** Declared variables and whether each must be given (no default). */
  variables: Map<string, { required: boolean }>;
  outputs: string[];
  moduleCalls: ModuleCall[];
  /** Variables the module's expressions refer to (`var.<name>`). */
  variableReferences: string[];
  /** Locals the module's expressions refer to, with the attributes read from them (`local.server.role`). */
  localReferences: string[];
  requiredProviders: ProviderRequirement[];
  /** Variables set by terraform.tfvars and *.auto.tfvars (which Terraform loads on its own). */
  tfvars: string[];
}

function blocks(parsed: Json, type: string): Record<string, Json[]> {
  return (parsed[type] ?? {}) as Record<string, Json[]>;
}

function collectStrings(value: unknown, into: string[], key = ""): void {
  if (key === "description") return;
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (value && typeof value === "object") {
    for (const [childKey, child] of Object.entries(value)) collectStrings(child, into, childKey);
  }
}

/** Parses one HCL file; errors name the file. */
export async function parseHcl(path: string): Promise<Json> {
  try {
    return (await parse(path, readFileSync(path, "utf8"))) as Json;
  } catch (error) {
    throw new Error(`${path} does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Loads a Terraform module: every *.tf file of the directory, plus its tfvars files. */
export async function loadModule(dir: string, root = REPO_ROOT): Promise<TerraformModule> {
  const files = readdirSync(dir).sort();
  const module: TerraformModule = {
    dir: relative(root, dir) || ".",
    variables: new Map(),
    outputs: [],
    moduleCalls: [],
    variableReferences: [],
    localReferences: [],
    requiredProviders: [],
    tfvars: [],
  };
  const strings: string[] = [];
  for (const file of files.filter((name) => name.endsWith(".tf"))) {
    const parsed = await parseHcl(join(dir, file));
    for (const [name, [body]] of Object.entries(blocks(parsed, "variable"))) {
      module.variables.set(name, { required: !body || !("default" in body) });
    }
    module.outputs.push(...Object.keys(blocks(parsed, "output")));
    for (const [name, [body = {}]] of Object.entries(blocks(parsed, "module"))) {
      module.moduleCalls.push({
        name,
        source: String(body.source ?? ""),
        arguments: Object.keys(body).filter((argument) => !MODULE_META_ARGUMENTS.has(argument)),
      });
    }
    for (const settings of (parsed.terraform ?? []) as Json[]) {
      for (const requirements of (settings.required_providers ?? []) as Record<string, Json>[]) {
        for (const [name, requirement] of Object.entries(requirements)) {
          module.requiredProviders.push({
            name,
            source: String(requirement.source ?? ""),
            version: String(requirement.version ?? ""),
          });
        }
      }
    }
    collectStrings(parsed, strings);
  }
  for (const file of files.filter((name) => name === "terraform.tfvars" || name.endsWith(".auto.tfvars"))) {
    module.tfvars.push(...Object.keys(await parseHcl(join(dir, file))));
  }
  const references = strings.flatMap((text) =>
    [...text.matchAll(/\bvar\.([A-Za-z_][A-Za-z0-9_-]*)/g)].map((m) => m[1] ?? ""),
  );
  module.variableReferences = [...new Set(references)].sort();
  const locals = strings.flatMap((text) =>
    [...text.matchAll(/\blocal\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)/g)].map((m) => m[1] ?? ""),
  );
  module.localReferences = [...new Set(locals)].sort();
  module.outputs.sort();
  return module;
}

export function isLocalSource(source: string): boolean {
  return source.startsWith("./") || source.startsWith("../");
}

/** Variables a module refers to but does not declare. */
export function undeclaredVariables(module: TerraformModule): string[] {
  return module.variableReferences
    .filter((name) => !module.variables.has(name))
    .map((name) => `${module.dir}: var.${name} is not declared`);
}

/** Whether a module exports exactly the server outputs. */
export function outputSetProblems(module: TerraformModule): string[] {
  const missing = SERVER_OUTPUTS.filter((name) => !module.outputs.includes(name));
  const extra = module.outputs.filter((name) => !SERVER_OUTPUTS.includes(name));
  return [
    ...missing.map((name) => `${module.dir}: lacks output "${name}"`),
    ...extra.map((name) => `${module.dir}: has output "${name}", which not every server exports`),
  ];
}

/** Module calls that miss a required variable or pass one the called module does not declare. */
export async function moduleCallProblems(module: TerraformModule, root = REPO_ROOT): Promise<string[]> {
  const problems: string[] = [];
  for (const call of module.moduleCalls.filter((c) => isLocalSource(c.source))) {
    const calledDir = resolve(root, module.dir, call.source);
    if (!existsSync(calledDir)) {
      problems.push(`${module.dir}: module "${call.name}" has a source that does not exist: ${call.source}`);
      continue;
    }
    const called = await loadModule(calledDir, root);
    for (const [name, { required }] of called.variables) {
      if (required && !call.arguments.includes(name)) {
        problems.push(
          `${module.dir}: module "${call.name}" does not set required variable "${name}" of ${called.dir}`,
        );
      }
    }
    for (const argument of call.arguments.filter((name) => !called.variables.has(name))) {
      problems.push(
        `${module.dir}: module "${call.name}" sets "${argument}", which ${called.dir} does not declare`,
      );
    }
  }
  return problems;
}

/** Variables of a root module that nothing sets: no default and not in its tfvars files. */
export function unsetRootVariables(module: TerraformModule): string[] {
  return [...module.variables]
    .filter(([name, { required }]) => required && !module.tfvars.includes(name))
    .map(([name]) => `${module.dir}: variable "${name}" has no default and no value in its tfvars`);
}

const EXACT_VERSION = /^=?\s*\d+\.\d+\.\d+$/;
const PINNED_REF = /[?&]ref=(v?\d+\.\d+\.\d+|[0-9a-f]{40})$/;

/** Providers without an exact version, remote modules without a release or commit ref. */
export function pinProblems(module: TerraformModule): string[] {
  return [
    ...module.requiredProviders
      .filter(({ version }) => !EXACT_VERSION.test(version))
      .map(
        ({ name, version }) =>
          `${module.dir}: provider "${name}" is not pinned to an exact version ("${version}")`,
      ),
    ...module.moduleCalls
      .filter(({ source }) => !isLocalSource(source) && !PINNED_REF.test(source))
      .map(
        ({ name, source }) => `${module.dir}: module "${name}" source is not pinned to a release: ${source}`,
      ),
  ];
}

/** Providers required at different versions in different modules. */
export function providerVersionConflicts(modules: TerraformModule[]): string[] {
  const versions = new Map<string, Set<string>>();
  for (const { source, version } of modules.flatMap((module) => module.requiredProviders)) {
    versions.set(source, (versions.get(source) ?? new Set()).add(version.replace(/^=\s*/, "")));
  }
  return [...versions]
    .filter(([, found]) => found.size > 1)
    .map(([source, found]) => `provider ${source} is required at several versions: ${[...found].join(", ")}`);
}

/** Directories directly below `dir`. */
export function subdirectories(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => join(dir, entry.name))
    .sort();
}

/** Every directory under terraform/ holding .tf files (provider caches excluded). */
export function terraformModuleDirs(root = REPO_ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((entry) => entry.isFile() && entry.name.endsWith(".tf"))) found.push(dir);
    for (const entry of entries) {
      if (entry.isDirectory() && !entry.name.startsWith(".")) walk(join(dir, entry.name));
    }
  };
  walk(join(root, "terraform"));
  return found.sort();
}

/** `terraform fmt -check` over a directory tree; returns the files it would rewrite. */
export function terraformFmtCheck(dir: string): string[] {
  const result = spawnSync("terraform", ["fmt", "-check", "-recursive", "-list=true", dir], {
    encoding: "utf8",
  });
  if (result.error) throw result.error;
  if (result.status !== 0 && result.stdout.trim() === "")
    throw new Error(`terraform fmt failed: ${result.stderr}`);
  return result.stdout.split("\n").filter((line) => line.trim() !== "");
}

/**
 * The fields a template reads from its description (`local.server`) and the site (`local.site`) that
 * the schemas lack, for a template of provider kind `kind`.
 */
export function unknownTemplateFields(module: TerraformModule, kind: string): string[] {
  return unknownDescriptionFields(module.localReferences, kind).map(
    (reference) =>
      `${module.dir}: local.${reference} is no field of the description schemas (servers/, kind ${kind})`,
  );
}

/** Where each provider kind's instance root is kept: terraform/templates/<kind>. */
export const TEMPLATES_DIR = join("terraform", "templates");
export const INSTANCES_DIR = join("terraform", "instances");

/** The files of an instance root that are its own rather than its template's. */
const INSTANCE_OWN_FILES = ["generation.auto.tfvars"];

/** Files Terraform reads from a root: configuration and variable files (not its lock file or state). */
function configurationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(tf|tfvars)(\.json)?$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** What the layout check needs of a server description. */
export interface DescribedServer {
  name: string;
  provider: { kind: string };
}

/**
 * Whether terraform/instances matches the descriptions: every server Terraform creates (any kind but
 * `existing`) has a root that is a byte-for-byte copy of its kind's template plus its own
 * generation.auto.tfvars, and no root is without a description or belongs to an existing machine.
 */
export function instanceLayoutProblems(servers: DescribedServer[], root = REPO_ROOT): string[] {
  const instancesDir = join(root, INSTANCES_DIR);
  const roots = existsSync(instancesDir) ? subdirectories(instancesDir).map((dir) => basename(dir)) : [];
  const problems = roots
    .filter((name) => !servers.some((server) => server.name === name))
    .map(
      (name) =>
        `${INSTANCES_DIR}/${name} has no description servers/${name}.json: describe the server or remove the root`,
    );
  for (const { name, provider } of servers) {
    const dir = join(instancesDir, name);
    const template = join(TEMPLATES_DIR, provider.kind);
    if (provider.kind === "existing") {
      if (existsSync(dir)) {
        problems.push(
          `${INSTANCES_DIR}/${name}: servers/${name}.json describes an existing machine, which Terraform does not create; remove the root`,
        );
      }
      continue;
    }
    if (!existsSync(join(root, template))) {
      problems.push(`servers/${name}.json: provider kind "${provider.kind}" has no template ${template}`);
      continue;
    }
    if (!existsSync(dir)) {
      problems.push(
        `servers/${name}.json has no Terraform root: copy ${template} to ${INSTANCES_DIR}/${name} with a generation.auto.tfvars`,
      );
      continue;
    }
    const templateFiles = configurationFiles(join(root, template));
    const own = configurationFiles(dir);
    for (const file of templateFiles) {
      if (!own.includes(file)) problems.push(`${INSTANCES_DIR}/${name} lacks ${file} of ${template}`);
      else if (!readFileSync(join(dir, file)).equals(readFileSync(join(root, template, file)))) {
        problems.push(
          `${INSTANCES_DIR}/${name}/${file} differs from ${template}/${file} (servers/${name}.json is of kind "${provider.kind}"): copy the template over it`,
        );
      }
    }
    for (const file of own.filter(
      (file) => !templateFiles.includes(file) && !INSTANCE_OWN_FILES.includes(file),
    )) {
      problems.push(
        `${INSTANCES_DIR}/${name}/${file} is not in ${template}: what differs between servers belongs in their descriptions`,
      );
    }
    for (const file of INSTANCE_OWN_FILES.filter((file) => !own.includes(file))) {
      problems.push(`${INSTANCES_DIR}/${name} lacks its ${file}`);
    }
  }
  return problems;
}
