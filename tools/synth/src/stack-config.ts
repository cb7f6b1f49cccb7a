import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ProjectInfo, readYamlFile } from "./projects";

/** A stack's config as the Pulumi CLI hands it to a program: string values, and which are secret. */
export interface StackConfig {
  values: Record<string, string>;
  secretKeys: string[];
  /** The placeholder text of every secret, so synth can prove none appears in its output. */
  secretValues: string[];
}

function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value;
}

/**
 * A stand-in for a `secure:` value: deterministic per stack and key, and shaped like a base64
 * key (44 characters), so programs that check key formats accept it.
 */
export function secretPlaceholder(stack: string, key: string): string {
  return createHash("sha256").update(`synth-secret:${stack}:${key}`).digest("base64");
}

function replaceSecure(value: unknown, stack: string, key: string, found: string[]): unknown {
  if (isSecure(value)) {
    const placeholder = secretPlaceholder(stack, key);
    found.push(placeholder);
    return placeholder;
  }
  if (Array.isArray(value))
    return value.map((item, index) => replaceSecure(item, stack, `${key}[${index}]`, found));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([name, item]) => [
        name,
        replaceSecure(item, stack, `${key}.${name}`, found),
      ]),
    );
  }
  return value;
}

/** Reads `Pulumi.<stack>.yaml` of a project, with the project's defaults, as the CLI would pass it. */
export function readStackConfig(project: ProjectInfo, stack: string): StackConfig {
  const file = join(project.dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`Project "${project.name}" has no stack "${stack}" (${file})`);
  const document = (readYamlFile(file) ?? {}) as { config?: Record<string, unknown> };
  const raw = { ...project.configDefaults, ...(document.config ?? {}) };
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  const secretValues: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const found: string[] = [];
    const plain = replaceSecure(value, stack, key, found);
    if (found.length > 0) {
      secretKeys.push(key);
      secretValues.push(...found);
    }
    values[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  return { values, secretKeys, secretValues };
}
