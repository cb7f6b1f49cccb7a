import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type AppSecretsSpec, generateAppSecrets } from "@infra/app-secrets";
import { parse, stringify } from "yaml";

/** What is at an app's secrets file now. */
export type SecretsFileState = "absent" | "encrypted";

/**
 * Whether `secrets/apps/<app>.yaml` exists yet. A file that is not sops-encrypted is refused: its
 * values are in clear text and must never be committed.
 */
export function secretsFileState(path: string): SecretsFileState {
  if (!existsSync(path)) return "absent";
  const document = (parse(readFileSync(path, "utf8")) ?? {}) as Record<string, unknown>;
  if (typeof document === "object" && "sops" in document) return "encrypted";
  throw new Error(`${path} is not encrypted with sops: its values are in clear text; encrypt or remove it`);
}

/** The app's declared stable secrets: `pulumi/apps/<app>/src/secrets.ts` exports them as `secrets`. */
export function loadSpec(appsDir: string, app: string): AppSecretsSpec {
  const file = join(appsDir, app, "src", "secrets.ts");
  if (!/^[a-z0-9][a-z0-9-]*$/.test(app) || !existsSync(file)) {
    throw new Error(`app "${app}" declares no stable secrets (no ${file})`);
  }
  const loaded = require(file) as { secrets?: AppSecretsSpec };
  if (!loaded.secrets) throw new Error(`${file} exports no "secrets"`);
  return loaded.secrets;
}

/** The plain document to encrypt: the existing values kept, the missing ones generated. */
export function completeSecrets(
  app: string,
  spec: AppSecretsSpec,
  existing: Record<string, string>,
): { document: string; added: string[]; kept: string[] } {
  const { values, added } = generateAppSecrets(app, spec, existing);
  return {
    document: stringify(values),
    added,
    kept: Object.keys(existing).filter((key) => !added.includes(key)),
  };
}
