import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { skipUnless, withTempDir } from "./repo";
import { shellcheck, shellScripts } from "./shell";

const skip = skipUnless("shellcheck", "shellcheck");

function gitRepo(dir: string, files: Record<string, string>): void {
  spawnSync("git", ["init", "-q"], { cwd: dir });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
}

describe("finding the repository's shell scripts", () => {
  it("takes *.sh files and files with a bash or sh shebang, tracked or not, unless ignored", () =>
    withTempDir((dir) => {
      gitRepo(dir, {
        ".gitignore": "ignored.sh\n",
        "a.sh": "echo a\n",
        run: "#!/usr/bin/env bash\necho run\n",
        ".ci/run": "#!/bin/sh\necho ci\n",
        "bin/tool": "#!/bin/bash\necho tool\n",
        "ignored.sh": "echo ignored\n",
        "node_modules/pkg/x.sh": "echo x\n",
        "script.py": "#!/usr/bin/env python3\nprint(1)\n",
        "notes.md": "Scripts start with\n#!/bin/sh\n",
      });
      assert.deepEqual(shellScripts(dir), [".ci/run", "a.sh", "bin/tool", "run"]);
    }));

  it("includes this repository's own entry scripts", () => {
    const scripts = shellScripts();
    for (const script of [
      "run",
      ".ci/run",
      "terraform/shared/nixos/extra-files.sh",
      ".devcontainer/unlock.sh",
    ]) {
      assert.ok(scripts.includes(script), `${script} not found`);
    }
  });
});

describe("shellcheck", { skip }, () => {
  it("finds nothing to report in any shell script of the repository", () => {
    assert.equal(shellcheck(shellScripts()), "");
  });

  it("reports a script with an unquoted expansion", () =>
    withTempDir((dir) => {
      writeFileSync(join(dir, "bad.sh"), "#!/usr/bin/env bash\nrm -rf $1/tmp\n");
      assert.match(shellcheck(["bad.sh"], dir), /SC2086/);
    }));
});
