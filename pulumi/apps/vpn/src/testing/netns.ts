/**
 * Network namespaces for tests that run real networking tools (`ip netns`, needs root).
 *
 * Every command in a namespace runs with its own `/run/wireguard`, a directory the test owns: userspace
 * WireGuard (wireguard-go) keeps its control socket at `/run/wireguard/<interface>.sock` on the host's
 * file system, so namespaces of one run, parallel runs and the host would otherwise share sockets for
 * equally named interfaces such as `wg0`. `ip netns exec` runs each command in a private mount namespace,
 * so the bind mount never reaches the host.
 */
import { type ChildProcessWithoutNullStreams, execFile, execFileSync, spawn } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin. */
  input?: string;
  /** How errors name the command; defaults to its argv. */
  label?: string;
  /** Kills the command after this long; every command is bounded. */
  timeoutMs?: number;
}

const defaultTimeoutMs = 10_000;

/** Runs a command and resolves with its stdout; rejects with the command and its stderr on failure. */
export function run(argv: string[], options: CommandOptions = {}): Promise<string> {
  const [file = "", ...args] = argv;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, timeout: timeoutMs, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const how = error.killed ? `killed after ${timeoutMs} ms` : `exit status ${error.code}`;
        reject(new Error(`${options.label ?? argv.join(" ")} failed (${how}):\n${stderr}`));
      },
    );
    // A command that exits without reading its input closes the pipe early; its exit status tells.
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.input);
  });
}

/** Polls `check` until it returns a value, or rejects after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether an executable of that name is on PATH. */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Why this machine cannot run namespace tests, or undefined when it can: not Linux, not root, a command
 * missing, or `ip netns add` refused (e.g. in a container without the rights).
 */
export function netnsUnavailableReason(commands: string[], packages: string): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "creating network namespaces needs root";
  const missing = commands.filter((command) => !onPath(command));
  if (missing.length > 0) return `missing ${missing.join(", ")} (Debian packages: ${packages})`;
  const probe = `netns-probe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe", timeout: defaultTimeoutMs });
    execFileSync("ip", ["netns", "del", probe], { stdio: "pipe", timeout: defaultTimeoutMs });
    return undefined;
  } catch (error) {
    return `ip netns add fails here: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || error}`;
  }
}

export class NetworkNamespace {
  private constructor(
    readonly name: string,
    private readonly wireguardRunDir: string,
  ) {}

  /** Creates the namespace with `lo` up; `stateDir` (owned by the test) holds its `/run/wireguard`. */
  static async create(name: string, stateDir: string): Promise<NetworkNamespace> {
    // The mount point has to exist on the host; wireguard-tools would create it the same way.
    mkdirSync("/run/wireguard", { recursive: true, mode: 0o700 });
    const runDir = join(stateDir, `${name}-run-wireguard`);
    mkdirSync(runDir, { mode: 0o700 });
    await run(["ip", "netns", "add", name]);
    const namespace = new NetworkNamespace(name, runDir);
    await namespace.exec(["ip", "link", "set", "lo", "up"]);
    return namespace;
  }

  private wrap(argv: string[]): string[] {
    const inside = 'mount --bind "$1" /run/wireguard && shift && exec "$@"';
    return ["ip", "netns", "exec", this.name, "sh", "-c", inside, "sh", this.wireguardRunDir, ...argv];
  }

  /** Runs a command inside the namespace (see `run`). */
  exec(argv: string[], options: CommandOptions = {}): Promise<string> {
    return run(this.wrap(argv), { label: `${argv.join(" ")} (in ${this.name})`, ...options });
  }

  /** Starts a long-running command inside the namespace; `destroy` ends it. */
  spawn(argv: string[], options: CommandOptions = {}): ChildProcessWithoutNullStreams {
    const [file = "", ...args] = this.wrap(argv);
    return spawn(file, args, { env: options.env ?? process.env, stdio: "pipe" });
  }

  /** Writes a sysctl of this namespace, e.g. `net/ipv4/ip_forward` (without needing procps). */
  sysctl(key: string, value: string | number): Promise<string> {
    return this.exec(["sh", "-c", 'printf "%s\\n" "$2" > "/proc/sys/$1"', "sh", key, String(value)]);
  }

  /** The ids of the processes whose network namespace this is (daemons included). */
  async pids(): Promise<number[]> {
    const out = await run(["ip", "netns", "pids", this.name]);
    return out.split("\n").filter(Boolean).map(Number);
  }

  /** Kills every process still in the namespace (only the test's own can be there), then deletes it. */
  async destroy(): Promise<void> {
    await waitFor(`the processes in ${this.name} to end`, async () => {
      const pids = await this.pids();
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      return pids.length === 0 ? true : undefined;
    });
    await run(["ip", "netns", "del", this.name]);
  }
}
