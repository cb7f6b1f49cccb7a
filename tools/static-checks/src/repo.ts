import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root (this file is tools/static-checks/src/repo.ts). */
export const REPO_ROOT = resolve(__dirname, "..", "..", "..");

/** Whether a command can be started at all (whatever its exit status). */
export function commandExists(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).error === undefined;
}

/** A skip reason for node:test when a Debian tool is missing, or false when it is there. */
export function skipUnless(command: string, debianPackage: string): string | false {
  return commandExists(command) ? false : `${command} is not installed (Debian package ${debianPackage})`;
}

/**
 * Files git tracks plus untracked files git does not ignore, relative to `root`, without node_modules
 * and without tracked files deleted from the work tree. Throws outside a git work tree.
 */
export function repoFiles(root = REPO_ROOT): string[] {
  const result = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`git ls-files failed in ${root}: ${result.stderr}`);
  const files = result.stdout
    .split("\0")
    .filter((file) => file !== "" && !file.split("/").includes("node_modules"))
    .filter((file) => existsSync(join(root, file)));
  return [...new Set(files)].sort();
}

/** Runs `body` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(body: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "static-checks-"));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
