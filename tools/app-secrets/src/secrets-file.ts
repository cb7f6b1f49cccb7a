import { existsSync, readFileSync } from "node:fs";
import { type AppSecretsSpec, generateAppSecrets } from "@infra/app-secrets";
import { parse, stringify } from "yaml";

/** What is at a secrets file now. */
export type SecretsFileState = "absent" | "encrypted";

/**
 * Whether a secrets file (`secrets/apps/<app>.yaml`, `secrets/backups/<name>.yaml`) exists yet. A
 * file that is not sops-encrypted is refused: its values are in clear text and must never be
 * committed.
 */
export function secretsFileState(path: string): SecretsFileState {
  if (!existsSync(path)) return "absent";
  const document = (parse(readFileSync(path, "utf8")) ?? {}) as Record<string, unknown>;
  if (typeof document === "object" && "sops" in document) return "encrypted";
  throw new Error(`${path} is not encrypted with sops: its values are in clear text; encrypt or remove it`);
}

/** What completing a secrets file gave: the plain document to encrypt, and what changed. */
export interface CompletedSecrets {
  document: string;
  added: string[];
  kept: string[];
  /** Provided keys the file still lacks, with what each one is and the task variable that brings it. */
  missing: { key: string; description: string; variable: string }[];
}

/**
 * The plain document to encrypt: the existing values kept, the missing generated ones made, and
 * the values the operator provides put in (replacing what they replace).
 */
export function completeSecrets(
  owner: string,
  spec: AppSecretsSpec,
  existing: Record<string, string>,
  provided: Record<string, string> = {},
): CompletedSecrets {
  const { values, added, missing } = generateAppSecrets(owner, spec, existing, provided);
  return {
    document: stringify(values),
    added,
    kept: Object.keys(existing).filter((key) => !added.includes(key) && !(key in provided)),
    missing: missing.flatMap((key) => {
      const generator = spec[key];
      return generator?.kind === "provided"
        ? [{ key, description: generator.description, variable: generator.variable }]
        : [];
    }),
  };
}
