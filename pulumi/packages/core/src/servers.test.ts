import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "./config";
import { repositoryRoot } from "./placement";
import { findServersDir, readServers, requireServer, serverJsonSchemas } from "./servers";

const repositoryServers = join(repositoryRoot, "servers");
const temp = mkdtempSync(join(tmpdir(), "servers-test-"));
after(() => rmSync(temp, { recursive: true, force: true }));

let copies = 0;
/** A copy of the repository's servers/ with `change` applied to its parsed files (by file name). */
function serversWith(change: (files: Record<string, any>) => void): string {
  const dir = join(temp, `copy-${++copies}`, "servers");
  mkdirSync(dir, { recursive: true });
  const files: Record<string, any> = {};
  for (const file of readdirSync(repositoryServers).filter((name) => name.endsWith(".json"))) {
    files[file] = JSON.parse(readFileSync(join(repositoryServers, file), "utf8"));
  }
  change(files);
  for (const [file, value] of Object.entries(files)) {
    writeFileSync(join(dir, file), typeof value === "string" ? value : JSON.stringify(value));
  }
  return dir;
}

/** Any server of the repository, and another one. */
const [first, second] = readServers(repositoryServers).servers;

describe("the server descriptions", () => {
  it("describe the repository's servers without a problem", () => {
    const read = readServers(repositoryServers);
    assert.deepEqual(read.problems, []);
    assert.ok(read.servers.length >= 2, "the repository describes its example servers");
    assert.ok(read.site);
  });

  it("name a misspelled key of a server with the key it meant", () => {
    const dir = serversWith((files) => {
      files[`${first?.name}.json`].network.serviceCdir = files[`${first?.name}.json`].network.serviceCidr;
      delete files[`${first?.name}.json`].network.serviceCidr;
    });
    const { problems } = readServers(dir);
    assert.ok(
      problems.includes(
        `${join(dir, `${first?.name}.json`)}: network.serviceCdir is not a setting; did you mean serviceCidr?`,
      ),
      problems.join("\n"),
    );
  });

  it("tell which servers a problem concerns: its own, the ones it overlaps, and the policy owner", () => {
    const owner = readServers(repositoryServers).site?.tailnet.policyOwner;
    const [typo, other] = readServers(repositoryServers).servers.filter((server) => server.name !== owner);
    const dir = serversWith((files) => {
      files[`${typo?.name}.json`].rol = files[`${typo?.name}.json`].role;
    });
    const read = readServers(dir);
    assert.equal(read.problemsFor(typo?.name ?? "").length, 1);
    assert.deepEqual(read.problemsFor(other?.name ?? ""), []);
    assert.equal(read.problemsFor(owner ?? "").length, 1);
  });

  it("refuse a server whose range overlaps another server's, naming both", () => {
    const dir = serversWith((files) => {
      files[`${second?.name}.json`].network.clusterCidr = first?.network.clusterCidr;
    });
    const { problems } = readServers(dir);
    assert.ok(
      problems.some(
        (problem) =>
          problem.includes(`${first?.name}.json: network.clusterCidr`) &&
          problem.includes(`overlaps ${second?.name}'s clusterCidr ${first?.network.clusterCidr}`),
      ),
      problems.join("\n"),
    );
  });

  it("refuse a range inside the tailnet's own addresses", () => {
    const dir = serversWith((files) => {
      files[`${first?.name}.json`].network.serviceCidr = "100.100.0.0/16";
    });
    assert.ok(
      readServers(dir).problems.some((problem) =>
        /serviceCidr 100\.100\.0\.0\/16 overlaps the tailnet's addresses 100\.64\.0\.0\/10/.test(problem),
      ),
    );
  });

  it("refuse a tailnet policy owner that is no server", () => {
    const dir = serversWith((files) => {
      files["site.json"].tailnet.policyOwner = "nowhere";
    });
    assert.ok(
      readServers(dir).problems.some((problem) =>
        /tailnet\.policyOwner "nowhere" is no server/.test(problem),
      ),
    );
  });

  it("name the file of a JSON syntax error", () => {
    const dir = serversWith((files) => {
      files[`${first?.name}.json`] = '{ "role": ';
    });
    assert.ok(
      readServers(dir).problems.some((problem) => problem.startsWith(join(dir, `${first?.name}.json`))),
    );
  });

  it("fail a program of a stack that no server describes, saying how to describe one", () => {
    assert.throws(
      () => requireServer("home-9", repositoryServers),
      (error: unknown) =>
        error instanceof ConfigError &&
        /home-9\.json is missing.*\.\/run new-server home-9/.test(error.message),
    );
  });

  it("are found from a program's directory, above it", () => {
    assert.equal(findServersDir(join(repositoryRoot, "pulumi", "projects", "shared")), repositoryServers);
    const dir = serversWith(() => {});
    const program = join(dir, "..", "pulumi", "projects", "shared");
    mkdirSync(program, { recursive: true });
    assert.equal(findServersDir(program), dir);
  });
});

describe("the descriptions' JSON schemas", () => {
  it("are the ones the zod schemas give, so editors check what the tools check", () => {
    for (const [file, text] of Object.entries(serverJsonSchemas())) {
      assert.equal(
        readFileSync(join(repositoryServers, file), "utf8"),
        text,
        `servers/${file} is stale: run corepack yarn workspace @infra/core servers:schema`,
      );
    }
  });
});
