import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { REPO_ROOT, withTempDir } from "./repo";
import { loadTaskfileTree, unresolvedTaskCalls } from "./taskfile";

const ROOT_TASKFILE = join(REPO_ROOT, "Taskfile.yml");

function withTaskfiles<T>(files: Record<string, string>, body: (dir: string) => T): Promise<T> {
  return withTempDir((dir) => {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(join(dir, file, ".."), { recursive: true });
      writeFileSync(join(dir, file), content);
    }
    return body(dir);
  });
}

describe("the repository's Taskfiles", () => {
  it("parse, root and includes, and call only tasks that exist", {
    skip: existsSync(ROOT_TASKFILE) ? false : "no root Taskfile.yml in this checkout yet",
  }, () => {
    const tree = loadTaskfileTree(ROOT_TASKFILE);
    assert.deepEqual(tree.problems, []);
    assert.deepEqual(unresolvedTaskCalls(tree), []);
  });

  it("describe and remove a server with the new-server tool", {
    skip: existsSync(ROOT_TASKFILE) ? false : "no root Taskfile.yml",
  }, () => {
    const root = parse(readFileSync(ROOT_TASKFILE, "utf8")) as { tasks: Record<string, { cmds: string[] }> };
    assert.deepEqual(root.tasks["server:new"]?.cmds, ["./run new-server {{.NAME}} {{.CLI_ARGS}}"]);
    assert.deepEqual(root.tasks["server:remove"]?.cmds, ["./run new-server --remove {{.NAME}}"]);
    const scripts = (
      JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    assert.ok("new-server" in scripts, "the root package.json has no new-server script yet");
  });

  it("give the server tasks, included as servers:, and their calls resolve", () =>
    withTaskfiles(
      { "Taskfile.yml": 'version: "3"\nincludes:\n  servers: ./taskfiles/servers.yml\n' },
      (dir) => {
        mkdirSync(join(dir, "taskfiles"));
        writeFileSync(
          join(dir, "taskfiles", "servers.yml"),
          readFileSync(join(REPO_ROOT, "taskfiles", "servers.yml")),
        );
        const tree = loadTaskfileTree(join(dir, "Taskfile.yml"), dir);
        assert.deepEqual(tree.problems, []);
        for (const task of [
          "secrets",
          "plan",
          "apply",
          "destroy",
          "reinstall",
          "install",
          "rebuild",
          "ssh",
          "kubeconfig",
        ]) {
          assert.ok(tree.tasks.has(`servers:${task}`), `servers:${task}`);
        }
        assert.ok(tree.calls.length > 0);
        assert.deepEqual(unresolvedTaskCalls(tree), []);
      },
    ));
});

describe("the Taskfile check", () => {
  it("reports a call to a task that does not exist, in cmds or deps", () =>
    withTaskfiles(
      {
        "Taskfile.yml":
          'version: "3"\ntasks:\n  a:\n    deps: [missing-dep]\n    cmds:\n      - task: missing\n      - echo hi\n',
      },
      (dir) => {
        assert.deepEqual(unresolvedTaskCalls(loadTaskfileTree(join(dir, "Taskfile.yml"), dir)), [
          'task "a" calls "missing", which does not exist',
          'task "a" calls "missing-dep", which does not exist',
        ]);
      },
    ));

  it("resolves names inside an included file to its namespace and a leading colon to the root", () =>
    withTaskfiles(
      {
        "Taskfile.yml":
          'version: "3"\nincludes:\n  ns: ./sub\ntasks:\n  top:\n    cmds:\n      - task: ns:inner\n',
        "sub/Taskfile.yml":
          'version: "3"\ntasks:\n  inner:\n    cmds:\n      - task: sibling\n      - task: :top\n  sibling:\n    cmds:\n      - task: top\n',
      },
      (dir) => {
        assert.deepEqual(unresolvedTaskCalls(loadTaskfileTree(join(dir, "Taskfile.yml"), dir)), [
          'task "ns:sibling" calls "top", which does not exist',
        ]);
      },
    ));

  it("reports a missing include and a Taskfile that does not parse", () =>
    withTaskfiles(
      { "Taskfile.yml": 'version: "3"\nincludes:\n  a: ./a.yml\n  b: ./b.yml\n', "b.yml": "tasks: [\n" },
      (dir) => {
        const { problems } = loadTaskfileTree(join(dir, "Taskfile.yml"), dir);
        assert.equal(problems.length, 2);
        assert.match(problems[0] ?? "", /include "a" not found/);
        assert.match(problems[1] ?? "", /b\.yml does not parse/);
      },
    ));
});
