import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readdir } from "node:fs/promises";
import { join, relative } from "node:path";

// What the benchmarks share: their data, their timing and how they print.

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/**
 * Deterministic bytes that look random (AES-CTR keystream keyed by a label): incompressible and
 * unique per label, so neither restic's compression nor its deduplication gets a free win.
 */
export function pseudoRandomStream(label: string): (length: number) => Buffer {
  const key = createHash("sha256").update(label).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return (length) => cipher.update(Buffer.alloc(length));
}

export async function writePseudoRandomFile(path: string, size: number, label: string): Promise<void> {
  const next = pseudoRandomStream(label);
  const file = await open(path, "w");
  try {
    for (let written = 0; written < size; ) {
      const chunk = next(Math.min(8 * MiB, size - written));
      await file.write(chunk);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
}

/** Path and SHA-256 of every file: what a restore or a copy must reproduce. */
export async function treeDigest(root: string): Promise<string> {
  const hash = createHash("sha256");
  const entries = (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const path of entries) {
    const fileHash = createHash("sha256");
    for await (const chunk of createReadStream(path)) fileHash.update(chunk as Buffer);
    hash.update(`${relative(root, path)}\0${fileHash.digest("hex")}\n`);
  }
  return hash.digest("hex");
}

/** Runs a command to completion and returns its wall time in seconds; its output is shown only on failure. */
export function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolvePromise((performance.now() - started) / 1000);
      else reject(new Error(`${command} ${args.join(" ")} failed (${code}):\n${output.slice(-4000)}`));
    });
  });
}

export function say(message: string): void {
  process.stderr.write(`==> ${message}\n`);
}

export function formatBytes(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}
