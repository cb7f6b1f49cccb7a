import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  crossServerProblems,
  readServers,
  type ServerDescription,
  serverSchema,
  serversDir,
} from "@infra/core";
import type { Ask } from "./ask";
import { describeServer, type Flags, nameProblem, UsageError } from "./describe";
import { layersOf, secretCommand, stackFileText } from "./layers";
import { type FileWrite, formatServerJson, paths, stackFilesOf, templateFiles, writeAll } from "./repository";

// The comment every instance's generation file carries: what the two numbers mean to the tasks.
const generationFile = `# Install generation: \`task servers:reinstall HOST=<host>\` bumps it, which replaces the machine with a fresh
# one from the provider's image and installs NixOS on it.
generation = 1
# The last generation whose install has finished. While it is lower than \`generation\`, the provider's
# firewall lets anyone reach the image's SSH port (22), the install's only way in; once the install
# has finished, set it to \`generation\` and apply again to close that port (Terraform warns until then).
installed_generation = 0
`;

/** What a server named `name` already has in `root`: its description, Terraform instance, stack files. */
export function partsOf(root: string, name: string): string[] {
  return [paths.server(name), paths.instance(name)]
    .filter((path) => existsSync(join(root, path)))
    .concat(stackFilesOf(root, name));
}

function terraformWrites(root: string, name: string, description: ServerDescription): FileWrite[] {
  if (description.provider.kind === "existing") return [];
  const template = paths.template(description.provider.kind);
  if (!existsSync(join(root, template))) {
    throw new Error(`${template} is missing: the Terraform template of ${description.provider.kind} servers`);
  }
  return [
    ...templateFiles(join(root, template)).map((file) => ({
      path: join(paths.instance(name), file),
      content: readFileSync(join(root, template, file), "utf8"),
    })),
    { path: join(paths.instance(name), "generation.auto.tfvars"), content: generationFile },
  ];
}

function stackWrites(root: string, name: string, description: ServerDescription): FileWrite[] {
  return layersOf(description).map((layer) => {
    if (!existsSync(join(root, paths.projects, layer.project, "Pulumi.yaml"))) {
      throw new Error(
        `${join(paths.projects, layer.project)} is no Pulumi project: the base layer ${layer.project} is missing`,
      );
    }
    return { path: paths.stackFile(layer.project, name), content: stackFileText(layer, name) };
  });
}

/** Numbered steps, each a first line and its continuation lines. */
function numbered(steps: string[][]): string[] {
  return steps.flatMap(([first, ...rest], index) => [
    `  ${index + 1}. ${first}`,
    ...rest.map((line) => `     ${line}`),
  ]);
}

function nextSteps(name: string, description: ServerDescription, policyOwner: string): string[] {
  const secrets = layersOf(description).flatMap((layer) =>
    layer.settings
      .filter((setting) => "secret" in setting)
      .map((setting) => secretCommand(layer, setting.key, name)),
  );
  return [
    "Next:",
    ...numbered([
      ["Replace the secret placeholders in its stack files:", ...secrets],
      [
        "git add the files above (the flake sees only what git tracks), then create its identity",
        `(needs TAILSCALE_AUTH_KEY): task servers:secrets HOST=${name}; commit secrets/hosts/${name}.yaml and .sops.yaml.`,
      ],
      description.provider.kind === "existing"
        ? [
            `Install NixOS on it (nixos-anywhere over its SSH, as servers/${name}.json gives it): task servers:install HOST=${name}`,
          ]
        : [
            `Create and install it: task servers:apply HOST=${name}; then set installed_generation = 1 in`,
            `${paths.instance(name)}/generation.auto.tfvars and apply again to close the install's SSH port.`,
          ],
      [`Fetch its kubeconfig: task servers:kubeconfig HOST=${name}`],
      [
        `Place apps on it in ${paths.placement} (or task migrate APP=<app> TO=${name}) and list them in`,
        "servedNamespaces of its internal-gateway/public-gateway stack files. Database servers (postgresql,",
        "mariadb, mysql) and object-storage get stack files only when an app placed here uses them.",
      ],
      [
        `./run synth --stack ${name}, then task up:all STACK=${name}, and task up PROJECT=internal-gateway`,
        `STACK=${policyOwner}: the tailnet's policy (${policyOwner} owns it) approves ${name}'s routes.`,
      ],
    ]),
  ];
}

/**
 * Describes a new server in `root`: checks the name and every value first, then writes its
 * description, Terraform instance and base layers' stack files, all or none, and returns what to print.
 */
export async function createServer(root: string, name: string, flags: Flags, ask: Ask): Promise<string[]> {
  const problem = nameProblem(name);
  if (problem) throw new UsageError(`${name}: ${problem}`);
  const existing = partsOf(root, name);
  if (existing.length > 0) {
    throw new UsageError(
      `${name} exists (${existing.join(", ")}): pick another name, or ./run new-server --remove ${name}`,
    );
  }
  const read = readServers(join(root, serversDir));
  if (read.problems.length > 0 || !read.site) {
    throw new Error(
      `Fix the server descriptions first:\n${read.problems.map((line) => `  ${line}`).join("\n")}`,
    );
  }
  const description = await describeServer(name, flags, read.servers, ask);
  const parsed = serverSchema.safeParse(description);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)),
    ...crossServerProblems(read.site, [...read.servers, { ...description, name }]),
  ];
  if (problems.length > 0)
    throw new UsageError(`${name} would be wrong:\n${problems.map((line) => `  ${line}`).join("\n")}`);

  const writes = [
    { path: paths.server(name), content: formatServerJson(description) },
    ...terraformWrites(root, name, description),
    ...stackWrites(root, name, description),
  ];
  writeAll(root, writes);
  const terraform =
    description.provider.kind === "existing"
      ? []
      : [`  ${paths.instance(name)}/ (from ${paths.template(description.provider.kind)})`];
  return [
    `Created ${name}:`,
    `  ${paths.server(name)}`,
    ...terraform,
    ...writes.filter((write) => write.path.startsWith(paths.projects)).map((write) => `  ${write.path}`),
    ...nextSteps(name, description, read.site.tailnet.policyOwner),
  ];
}
