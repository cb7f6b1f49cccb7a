import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { describeUnknownKey, unknownKeys } from "./config-keys";

/** A stack's config is wrong: the message names the stack, the key and what is expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

function stackFile(): string {
  return `Pulumi.${pulumi.getStack()}.yaml of project "${pulumi.getProject()}"`;
}

function describeIssue(key: string, issue: z.core.$ZodIssue): string {
  const path = [key, ...issue.path.map(String)].join(".");
  return `  ${pulumi.getProject()}:${path}: ${issue.message}`;
}

function describeIssues(key: string, error: z.ZodError): string {
  return error.issues.map((issue) => describeIssue(key, issue)).join("\n");
}

function fail(key: string, error: z.ZodError, value: unknown): never {
  const target = typeof value === "object" && value !== null ? `--path ${key}.<field>` : key;
  throw new ConfigError(
    `Invalid config for stack "${pulumi.getStack()}" (${stackFile()}):\n${describeIssues(key, error)}\n` +
      `Set it with: pulumi config set ${target} <value> --stack ${pulumi.getStack()}`,
  );
}

/** A config value as the CLI hands it over: structured values and scalars as JSON, the rest as text. */
export function parseConfigText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Reads the config key `<project>:<key>` (a structured value or a scalar) and validates it
 * with `schema`. A missing or bad value fails at program start with the stack, the key and
 * what is expected.
 */
export function readConfig<S extends z.ZodType>(key: string, schema: S): z.output<S> {
  const config = new pulumi.Config();
  const raw = config.get(key);
  if (raw === undefined) {
    const result = schema.safeParse(undefined);
    if (result.success) return result.data;
    throw new ConfigError(
      `Missing config "${pulumi.getProject()}:${key}" for stack "${pulumi.getStack()}" (${stackFile()}):\n` +
        describeIssues(key, result.error),
    );
  }
  const value = parseConfigText(raw);
  const unknown = unknownKeys(schema, value);
  if (unknown.length > 0) {
    throw new ConfigError(
      `Invalid config for stack "${pulumi.getStack()}" (${stackFile()}):\n` +
        unknown.map((entry) => `  ${describeUnknownKey(`${pulumi.getProject()}:${key}.`, entry)}`).join("\n"),
    );
  }
  let result = schema.safeParse(value);
  // A scalar such as `1.30` or `true` parses as JSON too; a schema that wants a string gets the text.
  if (!result.success && (typeof value === "number" || typeof value === "boolean")) {
    const text = schema.safeParse(raw);
    if (text.success) result = text;
  }
  if (!result.success) fail(key, result.error, value);
  return result.data;
}

// The SDK knows which keys the CLI decrypted but only exports that check untyped.
const { isConfigSecret } = pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean };

/**
 * Reads a secret config key (`pulumi config set --secret <key> ...`). The value stays a
 * Pulumi secret; a key that is missing, or set in plain text, fails at program start.
 */
export function readSecretConfig(key: string): pulumi.Output<string> {
  const config = new pulumi.Config();
  const fullKey = `${pulumi.getProject()}:${key}`;
  if (config.get(key) === undefined) {
    throw new ConfigError(
      `Missing secret config "${fullKey}" for stack "${pulumi.getStack()}" (${stackFile()}). ` +
        `Set it with: pulumi config set --secret ${key} <value> --stack ${pulumi.getStack()}`,
    );
  }
  if (!isConfigSecret(fullKey)) {
    throw new ConfigError(
      `Config "${fullKey}" of stack "${pulumi.getStack()}" is stored in plain text; it must be a secret. ` +
        `Set it with: pulumi config set --secret ${key} <value> --stack ${pulumi.getStack()}`,
    );
  }
  return config.requireSecret(key);
}
