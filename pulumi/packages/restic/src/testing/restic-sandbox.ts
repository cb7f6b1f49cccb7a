import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmod,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** The directory of backup.sh, restore.sh and common.sh. */
export const resticScriptsDir = join(__dirname, "..", "..", "scripts");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Which of the given programs are not on PATH. */
export function missingBinaries(names: readonly string[]): string[] {
  return names.filter((name) => spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0);
}

/** Runs a program to completion without blocking the event loop (tests run concurrently). */
export function run(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A program that exits without reading its input closes the pipe: its exit code tells the story.
    child.stdin.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") reject(error);
    });
    child.stdin.end(options.input ?? "");
  });
}

/** A TCP port on loopback that nothing listens on (it was free a moment ago). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A temporary directory with an rclone config whose `local` remote holds the restic repository
 * (`rclone:local:<root>/store/repo`, the same path shape the cluster uses), a password file and
 * a cache, plus helpers to run the scripts and restic against it.
 */
export class ResticSandbox {
  private constructor(readonly root: string) {}

  static async create(): Promise<ResticSandbox> {
    const sandbox = new ResticSandbox(await mkdtemp(join(tmpdir(), "restic-sandbox-")));
    await mkdir(sandbox.storeDir);
    await mkdir(sandbox.cacheDir);
    await mkdir(sandbox.homeDir);
    await writeFile(sandbox.rcloneConfig, "[local]\ntype = local\n");
    await writeFile(sandbox.passwordFile, "correct horse battery staple\n", { mode: 0o600 });
    await sandbox.initRepository();
    return sandbox;
  }

  get storeDir(): string {
    return join(this.root, "store");
  }
  /** Where the repository's files land on disk. */
  get repositoryDir(): string {
    return join(this.storeDir, "repo");
  }
  get repository(): string {
    return `rclone:local:${this.repositoryDir}`;
  }

  /** Writes the marker of a repository's place (the sandbox's by default), as `task backup:init-repository` does. */
  async initRepository(dir = this.repositoryDir): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, ".homelab-repository"), "homelab backup repository\n");
  }
  get rcloneConfig(): string {
    return join(this.root, "rclone.conf");
  }
  get passwordFile(): string {
    return join(this.root, "password");
  }
  /** restic's cache and the jobs' home directory. */
  get cacheDir(): string {
    return join(this.root, "cache");
  }
  get homeDir(): string {
    return join(this.root, "home");
  }

  /** A fresh empty directory inside the sandbox. */
  async dir(name: string): Promise<string> {
    const path = join(this.root, name);
    await mkdir(path, { recursive: true });
    return path;
  }

  /** An rclone config with a WebDAV remote `unreachable:` on a loopback port nobody listens on. */
  async unreachableRcloneConfig(): Promise<string> {
    const path = join(this.root, "rclone-unreachable.conf");
    await writeFile(path, `[unreachable]\ntype = webdav\nurl = http://127.0.0.1:${await closedPort()}/\n`);
    return path;
  }

  /**
   * The environment the scripts get in a job on server `cloud-a` (BACKUP_SERVER): nothing inherited
   * but PATH.
   */
  env(app: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.homeDir,
      TMPDIR: tmpdir(),
      RCLONE_CONFIG: this.rcloneConfig,
      RESTIC_REPOSITORY: this.repository,
      RESTIC_PASSWORD_FILE: this.passwordFile,
      RESTIC_CACHE_DIR: this.cacheDir,
      BACKUP_APP: app,
      BACKUP_SERVER: "cloud-a",
      ...extra,
    };
  }

  script(name: "backup.sh" | "restore.sh", env: NodeJS.ProcessEnv): Promise<RunResult> {
    return run("bash", [join(resticScriptsDir, name)], { env });
  }

  /** Runs hold.sh with these arguments (`show`, `take SERVER SINCE REASON`). */
  hold(args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
    return run("bash", [join(resticScriptsDir, "hold.sh"), ...args], { env });
  }

  restic(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> {
    return run("restic", args, { env, input });
  }

  /** The paths the app's latest snapshot holds, as `restic ls` prints them ("/dir/file"). */
  async listLatest(env: NodeJS.ProcessEnv, app = String(env.BACKUP_APP)): Promise<string[]> {
    const result = await this.restic(["ls", "--host", app, "latest"], env);
    if (result.code !== 0) throw new Error(`restic ls failed: ${result.stderr}`);
    return result.stdout.split("\n").filter((line) => line.startsWith("/"));
  }

  /**
   * A pod's BACKUP_DIR with volumes: a fresh scratch directory holding one empty directory (the
   * volume's mount point) per name.
   */
  async podDir(name: string, volumes: readonly string[]): Promise<string> {
    const dir = await this.dir(name);
    for (const volume of volumes) await mkdir(join(dir, volume));
    return dir;
  }

  /** The snapshots of the repository as restic's JSON describes them. */
  async snapshots(env: NodeJS.ProcessEnv): Promise<ResticSnapshotJson[]> {
    const result = await this.restic(["snapshots", "--json"], env);
    if (result.code !== 0) throw new Error(`restic snapshots failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as ResticSnapshotJson[];
  }

  /**
   * Starts `restic backup --stdin`, which holds a lock until its input ends, and resolves once the
   * lock file exists (in `repositoryDir`'s, where env's repository keeps its files). Killing the
   * returned process leaves the lock behind, as a crashed job would.
   */
  async holdLock(env: NodeJS.ProcessEnv, repositoryDir = this.repositoryDir): Promise<ChildProcess> {
    const locksDir = join(repositoryDir, "locks");
    const before = new Set(await readdir(locksDir));
    const child = spawn(
      "restic",
      ["backup", "--stdin", "--stdin-filename", "held", "--host", "lock-holder"],
      {
        env,
        stdio: ["pipe", "ignore", "ignore"],
      },
    );
    const deadline = Date.now() + 30_000;
    while ((await readdir(locksDir)).every((name) => before.has(name))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error("restic did not take a lock");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return child;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

export interface ResticSnapshotJson {
  id: string;
  time: string;
  hostname: string;
  tags?: string[];
  paths: string[];
}

/** Kills a process and waits until it is gone. */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

export interface TreeEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: string;
  uid: number;
  gid: number;
  mtimeMs?: number;
  sha256?: string;
  target?: string;
}

/** Everything a restore must reproduce about a directory's content, sorted by path. */
export async function describeTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const stat = await lstat(path);
      const base = {
        path: relative(root, path),
        mode: (stat.mode & 0o7777).toString(8),
        uid: stat.uid,
        gid: stat.gid,
      };
      if (stat.isSymbolicLink()) {
        entries.push({ ...base, type: "symlink", target: await readlink(path) });
      } else if (stat.isDirectory()) {
        entries.push({ ...base, type: "dir" });
        await walk(path);
      } else {
        const sha256 = createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
        entries.push({ ...base, type: "file", mtimeMs: Math.floor(stat.mtimeMs), sha256 });
      }
    }
  }
  await walk(root);
  return entries;
}

/** Writes a small tree with the cases a restore gets wrong: modes, owners, symlinks, empty dirs. */
export async function writeSampleTree(root: string): Promise<void> {
  await mkdir(join(root, "config", "nested", "deeper"), { recursive: true });
  await mkdir(join(root, "empty-dir"));
  await mkdir(join(root, "private"), { mode: 0o700 });
  await writeFile(join(root, "config", "app.ini"), "[server]\nport = 8080\n");
  await writeFile(join(root, "config", "nested", "deeper", "data.bin"), Buffer.from([0, 1, 2, 255, 254, 0]));
  await writeFile(join(root, "private", "secret.key"), "not really secret\n", { mode: 0o600 });
  await writeFile(join(root, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  await writeFile(join(root, "empty-file"), "");
  await writeFile(join(root, "name with spaces & ünïcode.txt"), "ünïcode\n");
  // mkdir's mode is masked by the umask.
  await chmod(join(root, "private"), 0o700);
  await symlink("config/app.ini", join(root, "link-to-config"));
  await symlink("does/not/exist", join(root, "dangling-link"));
  // Only root can give files away; a volume's files usually belong to the app's user.
  if (process.getuid?.() === 0) {
    await lchown(join(root, "private", "secret.key"), 1234, 5678);
    await lchown(join(root, "link-to-config"), 1234, 5678);
  }
}
