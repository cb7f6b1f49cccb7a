import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, repoFiles } from "./repo";

const SHELL_SHEBANG =
  /^#!\s*(\/usr\/bin\/env\s+(-S\s+)?(bash|sh|dash)|\/bin\/(bash|sh|dash)|\/usr\/bin\/(bash|sh))(\s|$)/;

function firstLine(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(128);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, length).toString("utf8").split("\n")[0] ?? "";
  } finally {
    closeSync(fd);
  }
}

/**
 * Every shell script of the repository: `*.sh` files and files starting with a bash/sh shebang, among
 * the files git tracks or would track (node_modules excluded).
 */
export function shellScripts(root = REPO_ROOT): string[] {
  return repoFiles(root).filter((file) => {
    const path = join(root, file);
    if (!existsSync(path) || !statSync(path).isFile()) return false;
    return file.endsWith(".sh") || SHELL_SHEBANG.test(firstLine(path));
  });
}

/** Runs shellcheck over the given files (relative to root); returns its report, empty when clean. */
export function shellcheck(files: string[], root = REPO_ROOT): string {
  if (files.length === 0) return "";
  // Sourced files are followed, relative to the script that sources them.
  const args = ["--format=gcc", "--external-sources", "--source-path=SCRIPTDIR", ...files];
  const result = spawnSync("shellcheck", args, {
    cwd: root,
    encoding: "utf8",
  });
  if (result.error) throw result.error;
  return result.status === 0 ? "" : `${result.stdout}${result.stderr}`.trim();
}
