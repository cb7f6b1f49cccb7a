import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { discoverProjects } from "../projects";
import { checkServers, checkUnreadConfig, describeExampleValue, exampleValues } from "./config";

const repositoryServers = resolve(__dirname, "..", "..", "..", "..", "servers");
const temp = mkdtempSync(join(tmpdir(), "synth-config-"));
after(() => rmSync(temp, { recursive: true, force: true }));

let scenarios = 0;
/** A repository of the real servers/ and one project `web` with the given stack files. */
function scenario(stackFiles: Record<string, string>): { projectsDir: string; root: string } {
  const root = join(temp, `repo-${++scenarios}`);
  cpSync(repositoryServers, join(root, "servers"), { recursive: true });
  const project = join(root, "pulumi", "projects", "web");
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "Pulumi.yaml"), "name: web\nruntime: nodejs\n");
  writeFileSync(join(project, "index.ts"), "export {};\n");
  for (const [file, text] of Object.entries(stackFiles)) writeFileSync(join(project, file), text);
  return { projectsDir: join(root, "pulumi", "projects"), root };
}

describe("the example values synth lists", () => {
  it("are the values marked EXAMPLE or reserved for examples, and secret placeholders, never comments", () => {
    const { projectsDir } = scenario({
      "Pulumi.cloud-a.yaml": [
        "# EXAMPLE: this comment is no value",
        "config:",
        "  web:hostname: web.example.com",
        "  web:replicas: 2",
        "  web:token:",
        "    secure: v1:EXAMPLE-replace-with-pulumi-config-set-secret",
        "  web:realToken:",
        "    secure: v1:AAAAbmV2ZXIgYW4gZXhhbXBsZQ==",
        "",
      ].join("\n"),
    });
    const listed = exampleValues(discoverProjects(projectsDir).values(), ["cloud-a"], projectsDir)
      .filter((value) => value.file.includes("web"))
      .map(describeExampleValue);
    assert.deepEqual(listed, [
      "pulumi/projects/web/Pulumi.cloud-a.yaml:3: web:hostname is an example value",
      "pulumi/projects/web/Pulumi.cloud-a.yaml:6: web:token is a placeholder secret (pulumi config set --secret)",
    ]);
  });

  it("are only the projects' own outside a repository with servers/", () => {
    const projectsDir = join(temp, "loose");
    mkdirSync(join(projectsDir, "web"), { recursive: true });
    writeFileSync(join(projectsDir, "web", "Pulumi.yaml"), "name: web\nruntime: nodejs\n");
    writeFileSync(join(projectsDir, "web", "index.ts"), "export {};\n");
    writeFileSync(join(projectsDir, "web", "Pulumi.lab.yaml"), "config:\n  web:hostname: web.example.com\n");
    const listed = exampleValues(discoverProjects(projectsDir).values(), ["lab"], projectsDir);
    assert.deepEqual(listed.map(describeExampleValue), [
      "web/Pulumi.lab.yaml:2: web:hostname is an example value",
    ]);
  });

  it("include the site's own", () => {
    const { projectsDir } = scenario({});
    const site = exampleValues([], [], projectsDir).filter(
      (value) => value.file === join("servers", "site.json"),
    );
    assert.ok(site.some((value) => value.key === "domain"));
  });
});

describe("the stacks synth checks against the server descriptions", () => {
  it("name a stack file of no described server, suggesting the server meant, and skip its stack", () => {
    const { projectsDir } = scenario({ "Pulumi.cloud-aa.yaml": "config: {}\n" });
    const check = checkServers(discoverProjects(projectsDir).values(), projectsDir);
    assert.deepEqual(check.problems, [
      `${join(projectsDir, "web", "Pulumi.cloud-aa.yaml")}: no server "cloud-aa" is described ` +
        "(servers/cloud-aa.json); did you mean cloud-a?",
    ]);
    assert.deepEqual([...check.blocked.keys()], ["cloud-aa"]);
  });
});

describe("the keys a program never read", () => {
  it("are named with the key meant, in the namespace the program reads", () => {
    assert.deepEqual(
      checkUnreadConfig(
        "shared",
        "cloud-a",
        ["backup:shedule", "kubernetes:context"],
        new Set(["backup:schedule"]),
      ),
      [
        'Pulumi.cloud-a.yaml of project "shared": backup:shedule is not a setting; did you mean backup:schedule?',
      ],
    );
  });

  it("list what the namespace takes when nothing is close", () => {
    assert.deepEqual(
      checkUnreadConfig("web", "cloud-a", ["web:zzz"], new Set(["web:hostname", "web:replicas"])),
      ['Pulumi.cloud-a.yaml of project "web": web:zzz is not a setting (known: web:hostname, web:replicas)'],
    );
  });
});
