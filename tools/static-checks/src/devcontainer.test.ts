import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { devcontainerJsonPath, devcontainerProblems, dockerfilePinProblems } from "./devcontainer";
import { REPO_ROOT, withTempDir } from "./repo";

const dockerfile = readFileSync(join(REPO_ROOT, ".devcontainer", "Dockerfile"), "utf8");

describe("the devcontainer", () => {
  it("parses, names its Dockerfile, and pins every tool there", () => {
    assert.deepEqual(devcontainerProblems(devcontainerJsonPath(REPO_ROOT)), []);
  });

  it("takes Node's version from .node-version, the one place the repository keeps it", () => {
    assert.match(dockerfile, /COPY \.node-version /);
  });

  it("sources the unlock function into every shell", () => {
    assert.match(dockerfile, /\.devcontainer\/unlock\.sh/);
  });
});

describe("the devcontainer check", () => {
  it("reports a devcontainer.json that does not parse", () =>
    withTempDir((dir) => {
      writeFileSync(join(dir, "devcontainer.json"), '{ "build": ');
      assert.match(devcontainerProblems(join(dir, "devcontainer.json"))[0] ?? "", /does not parse/);
    }));

  it("reports a Dockerfile that does not exist", () =>
    withTempDir((dir) => {
      mkdirSync(join(dir, ".devcontainer"));
      writeFileSync(
        join(dir, ".devcontainer", "devcontainer.json"),
        '{ "build": { "dockerfile": "Missing" } }',
      );
      assert.deepEqual(devcontainerProblems(devcontainerJsonPath(dir)), [
        "devcontainer.json names Missing, which does not exist",
      ]);
    }));

  it("reports a tool that is not pinned, or pinned loosely, and an untagged base image", () => {
    const loose = dockerfile
      .replace(/^ARG HELM_VERSION=.*$/m, "")
      .replace(/^ARG SOPS_VERSION=.*$/m, "ARG SOPS_VERSION=latest")
      .replace(/^FROM .*$/m, "FROM debian");
    assert.deepEqual(dockerfilePinProblems(loose), [
      "the Dockerfile does not pin HELM_VERSION",
      "SOPS_VERSION=latest is not an exact version",
      "base image debian has no version tag",
    ]);
  });
});
