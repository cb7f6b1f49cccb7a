import { join, relative, resolve } from "node:path";
import type { AppSecretsSpec } from "@infra/app-secrets";
import { ConfigError } from "@infra/core";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** The repository's root, where `secrets/` lies (this file is in pulumi/projects/common/src/app). */
const repositoryRoot = resolve(__dirname, "..", "..", "..", "..", "..");

/** Where an app's stable secrets are kept, encrypted with sops for the admins (`.sops.yaml`). */
export function appSecretsFile(app: string): string {
  return join(repositoryRoot, "secrets", "apps", `${app}.yaml`);
}

/** The command that decrypts an app's secrets file (sops finds the age key in SOPS_AGE_KEY, `unlock`). */
export function decryptCommand(file: string): string {
  return `sops --decrypt --output-type json '${file}'`;
}

function guidance(app: string): string {
  return (
    `Create or complete it with \`task app:secrets APP=${app}\` (it adds only the keys that are missing), ` +
    "and run Pulumi in a shell where `unlock` loaded your age key."
  );
}

/**
 * Reads an app's stable secrets (`secrets/apps/<app>.yaml`): the values its data depends on, the
 * same on every server, so they come from the repository (decrypted with sops on the operator's
 * machine), never from a per-stack random resource. Every key of the spec must be there; the
 * values stay Pulumi secrets and are never logged.
 */
export function readAppSecrets<Spec extends AppSecretsSpec>(
  app: string,
  spec: Spec,
  parent?: pulumi.Resource,
): { [Key in keyof Spec]: pulumi.Output<string> } {
  const file = appSecretsFile(app);
  const shown = relative(repositoryRoot, file);
  const decrypted = command.local
    .run(
      // Nothing of what sops prints may reach Pulumi's log.
      { command: decryptCommand(file), logging: "none" },
      parent ? { parent } : {},
    )
    .then(
      (result) => {
        let values: unknown;
        try {
          values = JSON.parse(result.stdout);
        } catch {
          throw new ConfigError(`${shown} did not decrypt to a map of secrets. ${guidance(app)}`);
        }
        if (typeof values !== "object" || values === null || Array.isArray(values)) {
          throw new ConfigError(`${shown} did not decrypt to a map of secrets. ${guidance(app)}`);
        }
        const record = values as Record<string, unknown>;
        const missing = Object.keys(spec).filter(
          (key) => typeof record[key] !== "string" || record[key] === "",
        );
        if (missing.length > 0) {
          throw new ConfigError(
            `${shown} lacks the secret(s) ${missing.join(", ")} of app ${app}. ${guidance(app)}`,
          );
        }
        return record as Record<string, string>;
      },
      (error: unknown) => {
        throw new ConfigError(
          `Cannot decrypt ${shown}, the stable secrets of app ${app} (stack "${pulumi.getStack()}"): ` +
            `${error instanceof Error ? error.message : String(error)}. ${guidance(app)}`,
        );
      },
    );
  const secrets = pulumi.secret(pulumi.output(decrypted));
  return Object.fromEntries(
    Object.keys(spec).map((key) => [key, secrets.apply((values) => values[key] as string)]),
  ) as { [Key in keyof Spec]: pulumi.Output<string> };
}
