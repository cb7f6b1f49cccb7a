import assert from "node:assert/strict";
import { accessSync, constants, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { before, describe, it } from "node:test";
import { commandExists, REPO_ROOT, withTempDir } from "./repo";
import {
  loadModule,
  moduleCallProblems,
  outputSetProblems,
  pinProblems,
  providerVersionConflicts,
  SERVER_OUTPUTS,
  subdirectories,
  type TerraformModule,
  terraformFmtCheck,
  terraformModuleDirs,
  undeclaredVariables,
  unsetRootVariables,
} from "./terraform";

const TERRAFORM = join(REPO_ROOT, "terraform");

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

  it("re-exports exactly the server outputs from every instance root", () => {
    const dirs = subdirectories(join(TERRAFORM, "instances")).map(
      (dir) => `terraform/instances/${basename(dir)}`,
    );
    const problems = dirs.flatMap((dir) => {
      const module = moduleAt(dir);
      return module ? outputSetProblems(module) : [`${dir}: no module`];
    });
    assert.deepEqual(problems, []);
  });

  it("has an instance root for every NixOS instance and no other", () => {
    const terraformHosts = readdirSync(join(TERRAFORM, "instances")).sort();
    const nixosHosts = readdirSync(join(REPO_ROOT, "nixos", "instances")).sort();
    assert.deepEqual(terraformHosts, nixosHosts);
  });

  it("passes every required variable, and only declared ones, to the modules it calls", async () => {
    const problems = (await Promise.all(modules.map((module) => moduleCallProblems(module)))).flat();
    assert.deepEqual(problems, []);
  });

  it("declares every variable it uses", () => {
    assert.deepEqual(modules.flatMap(undeclaredVariables), []);
  });

  it("gives every variable of an instance root a value", () => {
    const roots = modules.filter((module) => module.dir.startsWith("terraform/instances/"));
    assert.equal(roots.length, 3);
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
