import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

// Parsed documents are kept as JSON by content hash: the vendored CRDs are megabytes of YAML
// that every program run and every synth would otherwise parse again.
const cacheDir = join(__dirname, "..", "..", "..", "..", "node_modules", ".cache", "homelab-infra", "yaml");

/** The non-empty YAML documents of a file, as plain values. */
export function readYamlDocuments(file: string): unknown[] {
  const text = readFileSync(file, "utf8");
  const cached = join(cacheDir, `${createHash("sha256").update(text).digest("hex")}.json`);
  try {
    return JSON.parse(readFileSync(cached, "utf8")) as unknown[];
  } catch {
    const documents = parseAllDocuments(text)
      .map((document) => document.toJS() as unknown)
      .filter((document) => document !== null);
    try {
      mkdirSync(cacheDir, { recursive: true });
      // Written aside and renamed, so a concurrent reader never sees half a file.
      const partial = `${cached}.${process.pid}`;
      writeFileSync(partial, JSON.stringify(documents));
      renameSync(partial, cached);
    } catch {
      // A read-only checkout only loses the speed-up.
    }
    return documents;
  }
}
