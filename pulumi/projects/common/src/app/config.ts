import { ConfigError, externalHost, nearest, port, readConfig } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { externalBucketKeys } from "./bucket";
import type { AppEgress } from "./service";

// The SDK knows which keys the CLI decrypted but only exports that check untyped.
const { isConfigSecret } = pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean };

/** Keys of an app project's config that the app kit reads itself (`getBackupConfig`). */
const kitKeys = ["backup", ...Object.values(externalBucketKeys)];

/** An app project's config: its settings, and the secrets that are set. */
export interface AppConfig<Settings, SecretKey extends string> {
  settings: Settings;
  /** Each optional secret that the stack sets, as a Pulumi secret. */
  secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/**
 * Reads an app project's config: each key of `schema` from `<project>:<key>` (validated, with
 * defaults), and the optional secrets `secretKeys` (which must be set with `--secret`). A key of
 * the project that neither names (a typo such as `sigupsAllowed`) fails instead of being ignored.
 */
export function readAppConfig<Shape extends z.ZodRawShape, SecretKey extends string = never>(
  schema: z.ZodObject<Shape>,
  secretKeys: readonly SecretKey[] = [],
): AppConfig<z.output<z.ZodObject<Shape>>, SecretKey> {
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const known = new Set<string>([...Object.keys(schema.shape), ...secretKeys, ...kitKeys]);
  const unknown = Object.keys(pulumi.runtime.allConfig())
    .filter((key) => key.startsWith(`${project}:`))
    .map((key) => key.slice(project.length + 1))
    .filter((key) => !known.has(key));
  if (unknown.length > 0) {
    const keys = [...known].sort();
    throw new ConfigError(
      `Invalid config for stack "${stack}" (Pulumi.${stack}.yaml of project "${project}"):\n` +
        unknown
          .map((key) => {
            const suggestion = nearest(key, keys);
            return suggestion
              ? `  ${project}:${key} is not a setting; did you mean ${project}:${suggestion}?`
              : `  ${project}:${key} is not a setting (${project} reads: ${keys.join(", ")})`;
          })
          .join("\n"),
    );
  }
  const settings = Object.fromEntries(
    Object.entries(schema.shape).map(([key, field]) => [key, readConfig(key, field as z.ZodType)]),
  ) as z.output<z.ZodObject<Shape>>;
  const config = new pulumi.Config();
  const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
  for (const key of secretKeys) {
    if (config.get(key) === undefined) continue;
    if (!isConfigSecret(`${project}:${key}`)) {
      throw new ConfigError(
        `Config "${project}:${key}" of stack "${stack}" is stored in plain text; it must be a secret. ` +
          `Set it with: pulumi config set --secret ${key} <value> --stack ${stack}`,
      );
    }
    secrets[key] = config.requireSecret(key);
  }
  return { settings, secrets };
}

/**
 * An app setting for what it may reach outside the cluster, nothing by default: rules of DNS
 * names, `*.` patterns, IPv4 addresses or CIDRs, each on its TCP ports (443 unless given). It
 * reads as the service's `egress`.
 */
export const appEgressConfig = z
  .array(
    z.strictObject({
      hosts: z.array(externalHost).min(1),
      ports: z.array(port).min(1).default([443]),
    }),
  )
  .default([])
  .transform((rules): AppEgress[] =>
    rules.map((rule) => ({ hosts: rule.hosts, ports: rule.ports.map((number) => ({ port: number })) })),
  );
