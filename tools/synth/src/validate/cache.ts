import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { schemasDir } from "./crd-schemas";

/**
 * Remembers which objects passed schema validation, by a hash of the object and of everything
 * validation depends on (the vendored schemas, the validator sources, the kubernetes-models
 * versions). Like a linter's cache: an unchanged object is not validated again; any change to
 * it or to a schema validates it afresh. Failures are never cached.
 */
export class ValidationCache {
  private readonly passed: Set<string>;
  private readonly fingerprint: string;
  private changed = false;

  constructor(private readonly file: string | undefined) {
    this.fingerprint = file ? validatorFingerprint() : "";
    let entries: string[] = [];
    if (file && existsSync(file)) {
      try {
        const stored = JSON.parse(readFileSync(file, "utf8")) as { fingerprint?: string; passed?: string[] };
        if (stored.fingerprint === this.fingerprint) entries = stored.passed ?? [];
      } catch {
        entries = [];
      }
    }
    this.passed = new Set(entries);
  }

  private key(value: unknown): string {
    return createHash("sha256").update(this.fingerprint).update(JSON.stringify(value)).digest("base64url");
  }

  /** Whether this exact value passed before under the same schemas. */
  has(value: unknown): boolean {
    return this.file !== undefined && this.passed.has(this.key(value));
  }

  /** Records a value that passed. */
  add(value: unknown): void {
    if (!this.file) return;
    this.passed.add(this.key(value));
    this.changed = true;
  }

  /** Writes the cache if anything was added. */
  save(): void {
    if (!this.file || !this.changed) return;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify({ fingerprint: this.fingerprint, passed: [...this.passed] }));
  }
}

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

function validatorFingerprint(): string {
  const hash = createHash("sha256");
  const sources = [
    ...filesBelow(schemasDir),
    ...filesBelow(__dirname).filter((file) => file.endsWith(".ts")),
  ];
  for (const file of sources.sort()) hash.update(file).update(readFileSync(file));
  for (const name of [
    "kubernetes-models",
    "@kubernetes-models/gateway-api",
    "@kubernetes-models/cert-manager",
    "@kubernetes-models/traefik",
  ]) {
    const manifest = (require.resolve.paths(name) ?? [])
      .map((dir) => join(dir, name, "package.json"))
      .find((file) => existsSync(file));
    hash.update(manifest ? readFileSync(manifest) : name);
  }
  return hash.digest("hex");
}
