import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderKnotConf, zoneFileName } from "../knot-conf";

/** Why the tests that run Knot for real are skipped here, or `false` when they run. */
export function knotdSkip(): string | false {
  const missing = ["knotd", "kdig"].filter(
    (name) => spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0,
  );
  return missing.length > 0
    ? `needs ${missing.join(", ")} (Debian knot, knot-dnsutils), not installed`
    : false;
}

/** What kdig printed for a query, read back. */
export interface Answer {
  /** The response code (`NOERROR`, `NXDOMAIN`, `REFUSED`...), or why there was none. */
  status: string;
  /** The header's flags (`qr`, `aa`, `rd`...). */
  flags: string[];
  /** The answer section's records, `<name> <ttl> <class> <type> <data>`, whitespace collapsed. */
  answer: string[];
  authority: string[];
  /** kdig's whole output, for assertion messages. */
  output: string;
}

/** A knotd running on 127.0.0.1, and a way to query it. */
export interface KnotServer {
  query(name: string, type: string, transport: "udp" | "tcp"): Promise<Answer>;
  /** knotd's log so far. */
  log(): string;
  /** knotd's process ID. */
  pid: number;
  /** Stops knotd and removes its files. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function section(output: string, title: string): string[] {
  const start = output.indexOf(`;; ${title} SECTION:\n`);
  if (start < 0) return [];
  const lines = output.slice(start).split("\n").slice(1);
  const end = lines.findIndex((line) => line.trim() === "");
  return lines.slice(0, end < 0 ? undefined : end).map((line) => line.trim().split(/\s+/).join(" "));
}

function kdig(args: string[]): Promise<{ status: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn("kdig", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("close", (status) => resolve({ status, stdout, output: stdout + stderr }));
  });
}

/**
 * Starts Debian's knotd with the configuration the ConfigMap ships, changed only through the
 * renderer's options (a free port on 127.0.0.1, paths in a temporary directory), serving
 * `zoneText` as the zone file; resolves once it answers the zone's SOA.
 */
export async function startKnotd(
  zone: string,
  zoneText: string,
  readyWithinMs = 60_000,
): Promise<KnotServer> {
  const dir = mkdtempSync(join(tmpdir(), "private-dns-"));
  const port = await freePort();
  const rundir = join(dir, "rundir");
  const storage = join(dir, "storage");
  const zoneFile = join(dir, zoneFileName);
  const conf = join(dir, "knot.conf");
  writeFileSync(zoneFile, zoneText);
  writeFileSync(
    conf,
    renderKnotConf({ zone, zoneFile, listen: { address: "127.0.0.1", port }, rundir, storage }),
  );
  // As in the pod: a user who is not root, who may read the configuration and write only its
  // scratch directories (a test running as root runs knotd as nobody).
  const runAs = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  chmodSync(dir, 0o755);
  for (const file of [zoneFile, conf]) chmodSync(file, 0o444);
  for (const scratch of [rundir, storage]) {
    mkdirSync(scratch);
    if (runAs) chownSync(scratch, runAs.uid, runAs.gid);
  }
  const child: ChildProcess = spawn("knotd", ["-c", conf], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(runAs ?? {}),
  });
  let log = "";
  const append = (chunk: Buffer) => {
    log += chunk.toString();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const query = async (name: string, type: string, transport: "udp" | "tcp"): Promise<Answer> => {
    const args = ["@127.0.0.1", "-p", String(port), name, type, "+time=2", "+retry=1"];
    if (transport === "tcp") args.push("+tcp");
    const run = await kdig(args);
    return {
      status: /status: ([A-Z]+);/.exec(run.stdout)?.[1] ?? `no answer (kdig exited ${run.status})`,
      flags: /;; Flags: ([^;]*);/.exec(run.stdout)?.[1]?.trim().split(/\s+/) ?? [],
      answer: section(run.stdout, "ANSWER"),
      authority: section(run.stdout, "AUTHORITY"),
      output: run.output,
    };
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // It binds first, then loads the zone: ready once it serves the SOA.
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`knotd exited ${child.exitCode}:\n${log}`);
    }
    const soa = await query(zone, "SOA", "tcp");
    if (soa.status === "NOERROR" && soa.answer.length > 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`knotd did not serve ${zone} within ${readyWithinMs / 1000} s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { query, log: () => log, pid: child.pid ?? -1, stop };
}
