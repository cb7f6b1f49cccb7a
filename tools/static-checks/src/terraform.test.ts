import assert from "node:assert/strict";
import { accessSync, constants, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { before, describe, it } from "node:test";
import { providerKinds } from "@infra/core";
import { commandExists, REPO_ROOT, withTempDir } from "./repo";
import { describedServers } from "./servers";
import {
  INSTANCES_DIR,
  instanceLayoutProblems,
  loadModule,
  moduleCallProblems,
  outputSetProblems,
  pinProblems,
  providerVersionConflicts,
  SERVER_OUTPUTS,
  subdirectories,
  TEMPLATES_DIR,
  type TerraformModule,
  terraformFmtCheck,
  terraformModuleDirs,
  undeclaredVariables,
  unknownTemplateFields,
  unsetRootVariables,
} from "./terraform";

const TERRAFORM = join(REPO_ROOT, "terraform");
const { servers } = describedServers();
/** The kinds of provider Terraform creates machines at; an existing machine has no root. */
const createdKinds = providerKinds.filter((kind) => kind !== "existing");

/** Writes files into a temporary directory and hands its path to `body`. */
function withFiles<T>(files: Record<string, string>, body: (dir: string) => Promise<T>): Promise<T> {
  return withTempDir((dir) => {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(join(dir, file, ".."), { recursive: true });
      writeFileSync(join(dir, file), content);
    }
    return body(dir);
  });
}

const outputsTf = (names: string[]) => names.map((name) => `output "${name}" {\n  value = "x"\n}\n`).join("");

describe("the Terraform code", () => {
  let modules: TerraformModule[] = [];
  const moduleAt = (dir: string) => modules.find((module) => module.dir === dir);
  before(async () => {
    modules = await Promise.all(terraformModuleDirs().map((dir) => loadModule(dir)));
  });

  it("parses, every .tf and tfvars file", () => {
    assert.ok(modules.length >= 7, `only ${modules.length} modules`);
  });

  it("has provider modules for Hetzner Cloud and Proxmox", () => {
    const providers = subdirectories(join(TERRAFORM, "shared", "providers")).map((dir) => basename(dir));
    for (const provider of ["hcloud", "proxmox"]) assert.ok(providers.includes(provider), provider);
  });

  it("exports exactly the server outputs from every provider module", () => {
    const dirs = subdirectories(join(TERRAFORM, "shared", "providers")).map(
      (dir) => `terraform/shared/providers/${basename(dir)}`,
    );
    const problems = dirs.flatMap((dir) => {
      const module = moduleAt(dir);
      return module ? outputSetProblems(module) : [`${dir}: no module`];
    });
    assert.deepEqual(problems, []);
  });

  it("has a template for every provider kind Terraform creates, and a provider module for each", () => {
    const dirs = (parent: string) => subdirectories(parent).map((dir) => basename(dir));
    assert.deepEqual(dirs(join(REPO_ROOT, TEMPLATES_DIR)), [...createdKinds].sort());
    for (const kind of createdKinds)
      assert.ok(dirs(join(TERRAFORM, "shared", "providers")).includes(kind), kind);
  });

  it("re-exports exactly the server outputs from every template and instance root", () => {
    const dirs = [TEMPLATES_DIR, INSTANCES_DIR].flatMap((parent) =>
      subdirectories(join(REPO_ROOT, parent)).map((dir) => `${parent}/${basename(dir)}`),
    );
    const problems = dirs.flatMap((dir) => {
      const module = moduleAt(dir);
      return module ? outputSetProblems(module) : [`${dir}: no module`];
    });
    assert.deepEqual(problems, []);
  });

  it("has a copy of its kind's template for every server it creates, and no other root", () => {
    assert.ok(servers.length > 0);
    assert.deepEqual(instanceLayoutProblems(servers), []);
  });

  it("reads only fields of the description schemas in its templates", () => {
    const problems = createdKinds.flatMap((kind) => {
      const module = moduleAt(`${TEMPLATES_DIR}/${kind}`);
      return module ? unknownTemplateFields(module, kind) : [`${kind}: no template`];
    });
    assert.deepEqual(problems, []);
    assert.ok(moduleAt(`${TEMPLATES_DIR}/hcloud`)?.localReferences.includes("server.provider.serverType"));
  });

  it("passes every required variable, and only declared ones, to the modules it calls", async () => {
    const problems = (await Promise.all(modules.map((module) => moduleCallProblems(module)))).flat();
    assert.deepEqual(problems, []);
  });

  it("declares every variable it uses", () => {
    assert.deepEqual(modules.flatMap(undeclaredVariables), []);
  });

  it("gives every variable of an instance root a value", () => {
    const roots = modules.filter((module) => module.dir.startsWith(`${INSTANCES_DIR}/`));
    assert.equal(roots.length, servers.filter((server) => server.provider.kind !== "existing").length);
    assert.deepEqual(roots.flatMap(unsetRootVariables), []);
  });

  it("pins every provider to an exact version and every remote module to a release", () => {
    assert.deepEqual(modules.flatMap(pinProblems), []);
    assert.ok(
      modules.some((module) => module.moduleCalls.some((call) => call.source.includes("nixos-anywhere"))),
    );
  });

  it("requires each provider at one version everywhere", () => {
    assert.deepEqual(providerVersionConflicts(modules), []);
  });

  it("hands nixos-anywhere an executable extra-files script", () => {
    assert.doesNotThrow(() =>
      accessSync(join(TERRAFORM, "shared", "nixos", "extra-files.sh"), constants.X_OK),
    );
  });
});

describe("terraform fmt", {
  skip: commandExists("terraform") ? false : "no terraform binary on this machine",
}, () => {
  it("would change nothing", () => {
    assert.deepEqual(terraformFmtCheck(TERRAFORM), []);
  });

  it("lists a badly formatted file", () =>
    withFiles({ "main.tf": 'variable "a" {\ntype=string\n}\n' }, async (dir) => {
      assert.deepEqual(
        terraformFmtCheck(dir).map((file) => basename(file)),
        ["main.tf"],
      );
    }));
});

describe("the Terraform cross-checks", () => {
  it("reject a file that does not parse, naming it", () =>
    withFiles({ "main.tf": 'variable "a" {\n  type =\n}\n' }, async (dir) => {
      await assert.rejects(loadModule(dir), /main\.tf does not parse/);
    }));

  it("reject a provider module that lacks an output", () =>
    withFiles(
      { "outputs.tf": outputsTf(SERVER_OUTPUTS.filter((name) => name !== "internal_ip")) },
      async (dir) => {
        assert.deepEqual(outputSetProblems(await loadModule(dir, dir)), ['.: lacks output "internal_ip"']);
      },
    ));

  it("reject a provider module with an output the others lack", () =>
    withFiles({ "outputs.tf": outputsTf([...SERVER_OUTPUTS, "ipv6"]) }, async (dir) => {
      assert.equal(outputSetProblems(await loadModule(dir, dir)).length, 1);
    }));

  it("reject a module call that leaves out a required variable or sets an unknown one", () =>
    withFiles(
      {
        "child/variables.tf": 'variable "name" {\n  type = string\n}\nvariable "size" {\n  default = 1\n}\n',
        "root/main.tf": 'module "child" {\n  source = "../child"\n  size   = 2\n  colour = "red"\n}\n',
      },
      async (dir) => {
        const problems = await moduleCallProblems(await loadModule(join(dir, "root"), dir), dir);
        assert.deepEqual(problems, [
          'root: module "child" does not set required variable "name" of child',
          'root: module "child" sets "colour", which child does not declare',
        ]);
      },
    ));

  it("reject a module call whose source does not exist", () =>
    withFiles({ "main.tf": 'module "gone" {\n  source = "./gone"\n}\n' }, async (dir) => {
      assert.match((await moduleCallProblems(await loadModule(dir, dir), dir))[0] ?? "", /does not exist/);
    }));

  it("reject a variable that is used but not declared, ignoring descriptions", () =>
    withFiles(
      {
        "main.tf": `variable "a" {\n  description = "unlike var.b"\n}\nlocals {\n  x = "\${var.a}-\${var.c}"\n  y = [for v in var.d : v]\n}\n`,
      },
      async (dir) => {
        assert.deepEqual(undeclaredVariables(await loadModule(dir, dir)), [
          ".: var.c is not declared",
          ".: var.d is not declared",
        ]);
      },
    ));

  it("reject a root variable that nothing sets, accepting one set in an auto.tfvars file", () =>
    withFiles(
      {
        "variables.tf":
          'variable "generation" {\n  type = number\n}\nvariable "zone" {\n  type = string\n}\n',
        "generation.auto.tfvars": "generation = 1\n",
      },
      async (dir) => {
        assert.deepEqual(unsetRootVariables(await loadModule(dir, dir)), [
          '.: variable "zone" has no default and no value in its tfvars',
        ]);
      },
    ));

  it("reject a provider version range and a remote module on a branch", () =>
    withFiles(
      {
        "main.tf":
          'terraform {\n  required_providers {\n    hcloud = {\n      source  = "hetznercloud/hcloud"\n      version = "~> 1.69"\n    }\n  }\n}\nmodule "m" {\n  source = "github.com/org/repo//mod?ref=main"\n}\n',
      },
      async (dir) => {
        assert.equal(pinProblems(await loadModule(dir, dir)).length, 2);
      },
    ));

  it("reject one provider pinned to two versions", () =>
    withFiles(
      {
        "a/main.tf":
          'terraform {\n  required_providers {\n    p = {\n      source  = "x/p"\n      version = "1.0.0"\n    }\n  }\n}\n',
        "b/main.tf":
          'terraform {\n  required_providers {\n    p = {\n      source  = "x/p"\n      version = "1.0.1"\n    }\n  }\n}\n',
      },
      async (dir) => {
        const modules = [await loadModule(join(dir, "a"), dir), await loadModule(join(dir, "b"), dir)];
        assert.deepEqual(providerVersionConflicts(modules), [
          "provider x/p is required at several versions: 1.0.0, 1.0.1",
        ]);
      },
    ));
});

describe("the instance layout check", () => {
  const template = (kind: string) => `${TEMPLATES_DIR}/${kind}`;
  /** A repository with the real templates and a root at terraform/instances/<name> for each of `roots`. */
  const withRoots = <T>(roots: Record<string, string>, body: (dir: string) => T) =>
    withTempDir((dir) => {
      cpSync(join(REPO_ROOT, TEMPLATES_DIR), join(dir, TEMPLATES_DIR), { recursive: true });
      for (const [name, kind] of Object.entries(roots)) {
        cpSync(join(REPO_ROOT, template(kind)), join(dir, INSTANCES_DIR, name), { recursive: true });
        writeFileSync(
          join(dir, INSTANCES_DIR, name, "generation.auto.tfvars"),
          "generation = 1\ninstalled_generation = 0\n",
        );
      }
      return body(dir);
    });
  const server = (name: string, kind: string) => ({ name, provider: { kind } });

  it("accepts roots that are copies of their kind's template with their own generation", () =>
    withRoots({ "cloud-1": "hcloud", "home-1": "proxmox" }, (dir) => {
      assert.deepEqual(
        instanceLayoutProblems(
          [server("cloud-1", "hcloud"), server("home-1", "proxmox"), server("old-1", "existing")],
          dir,
        ),
        [],
      );
    }));

  it("rejects a root whose file differs from its template by one byte", () =>
    withRoots({ "cloud-1": "hcloud" }, (dir) => {
      const main = join(dir, INSTANCES_DIR, "cloud-1", "main.tf");
      writeFileSync(main, readFileSync(main, "utf8").replace("location", "locatio"));
      assert.deepEqual(instanceLayoutProblems([server("cloud-1", "hcloud")], dir), [
        `${INSTANCES_DIR}/cloud-1/main.tf differs from ${template("hcloud")}/main.tf (servers/cloud-1.json is of kind "hcloud"): copy the template over it`,
      ]);
    }));

  it("rejects a root copied from another kind's template than its description's", () =>
    withRoots({ "home-1": "hcloud" }, (dir) => {
      const problems = instanceLayoutProblems([server("home-1", "proxmox")], dir);
      assert.ok(problems.length > 0);
      assert.ok(
        problems.every((problem) => problem.includes(template("proxmox"))),
        problems.join("\n"),
      );
    }));

  it("rejects a root without a description, a server without a root, and a root for an existing machine", () =>
    withRoots({ "gone-1": "hcloud", "old-1": "hcloud" }, (dir) => {
      assert.deepEqual(
        instanceLayoutProblems([server("new-1", "digitalocean"), server("old-1", "existing")], dir),
        [
          `${INSTANCES_DIR}/gone-1 has no description servers/gone-1.json: describe the server or remove the root`,
          `servers/new-1.json has no Terraform root: copy ${template("digitalocean")} to ${INSTANCES_DIR}/new-1 with a generation.auto.tfvars`,
          `${INSTANCES_DIR}/old-1: servers/old-1.json describes an existing machine, which Terraform does not create; remove the root`,
        ],
      );
    }));

  it("rejects a root with a Terraform file of its own or without its generation, and keeps out of its lock file", () =>
    withRoots({ "cloud-1": "hcloud" }, (dir) => {
      const root = join(dir, INSTANCES_DIR, "cloud-1");
      writeFileSync(join(root, "terraform.tfvars"), 'location = "hel1"\n');
      writeFileSync(join(root, ".terraform.lock.hcl"), "# the providers' checksums\n");
      rmSync(join(root, "generation.auto.tfvars"));
      assert.deepEqual(instanceLayoutProblems([server("cloud-1", "hcloud")], dir), [
        `${INSTANCES_DIR}/cloud-1/terraform.tfvars is not in ${template("hcloud")}: what differs between servers belongs in their descriptions`,
        `${INSTANCES_DIR}/cloud-1 lacks its generation.auto.tfvars`,
      ]);
    }));
});

describe("the template field check", () => {
  it("rejects a field the description schemas lack, and another kind's provider field", () =>
    withFiles(
      {
        "main.tf": `locals {\n  a = local.server.provider.size\n  b = local.site.adminUser\n  c = local.server.provider.location\n  d = "\${local.host}.\${local.site.tailnet.name}"\n}\n`,
      },
      async (dir) => {
        assert.deepEqual(unknownTemplateFields(await loadModule(dir, dir), "hcloud"), [
          ".: local.server.provider.size is no field of the description schemas (servers/, kind hcloud)",
          ".: local.site.adminUser is no field of the description schemas (servers/, kind hcloud)",
        ]);
      },
    ));
});
