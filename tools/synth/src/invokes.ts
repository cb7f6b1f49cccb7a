import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { secretsFileAt } from "@infra/app-secrets";
import { parse, parseAllDocuments } from "yaml";

const exampleDataDir = join(__dirname, "..", "example-data");

/** What an invoke answered, and whether it came from example data. */
export interface InvokeAnswer {
  result: Record<string, unknown>;
  /** Set when example data stood in for a real source; says which. */
  example?: string;
  /** Secret values the answer made up, which synth's output must never show. */
  secrets?: string[];
}

interface InvokeContext {
  stack: string;
  /** The project directory, which relative paths in invokes are resolved against. */
  cwd: string;
}

function exampleData(file: string): unknown {
  return JSON.parse(readFileSync(join(exampleDataDir, file), "utf8"));
}

function terraformLocalState(inputs: Record<string, unknown>, context: InvokeContext): InvokeAnswer {
  const path = resolve(context.cwd, typeof inputs.path === "string" ? inputs.path : "terraform.tfstate");
  if (existsSync(path)) {
    const state = JSON.parse(readFileSync(path, "utf8")) as { outputs?: Record<string, { value: unknown }> };
    const outputs = Object.fromEntries(
      Object.entries(state.outputs ?? {}).map(([key, entry]) => [key, entry.value]),
    );
    return { result: { outputs } };
  }
  const examples = exampleData("terraform-outputs.json") as Record<string, Record<string, unknown>>;
  const outputs = examples[context.stack] ?? derivedOutputs(context.stack);
  return { result: { outputs }, example: `Terraform state ${path} (example outputs used)` };
}

/**
 * The outputs of a server the example data does not list (one a user just described), made from
 * its name: addresses in the documentation ranges (RFC 5737), so they are never mistaken for real.
 */
function derivedOutputs(stack: string): Record<string, unknown> {
  const host = 100 + ((createHash("sha256").update(stack).digest()[0] as number) % 150);
  return {
    id: `example-${stack}`,
    ssh_host: `203.0.113.${host}`,
    ssh_port: 22,
    ssh_user: "admin",
    internal_ip: `192.0.2.${host}`,
    public_ip: `203.0.113.${host}`,
  };
}

function yamlDecode(inputs: Record<string, unknown>): InvokeAnswer {
  const text = typeof inputs.text === "string" ? inputs.text : "";
  const result = parseAllDocuments(text)
    .map((document) => document.toJS() as unknown)
    .filter((document) => document !== null);
  return { result: { result } };
}

const repositoryRoot = resolve(__dirname, "..", "..", "..");
// The only local command programs run: a secrets file decrypted with sops (see
// pulumi/projects/common/src/app/stable-secrets.ts).
const sopsDecrypt = /^sops --decrypt --output-type json '([^']+)'$/;

/**
 * Synth never decrypts. It answers a placeholder for each key of the secrets file (sops leaves
 * keys in clear text) or, without the file, for each key it will hold (@infra/app-secrets: an
 * app's backup secrets and declared stable secrets, a repository's backup secrets), so the program
 * sees the keys it will see for real.
 */
function localRun(inputs: Record<string, unknown>, context: InvokeContext): InvokeAnswer {
  const command = typeof inputs.command === "string" ? inputs.command : "";
  const file = sopsDecrypt.exec(command)?.[1];
  // The file's path from the repository's root: what it holds, and its placeholders, follow from it.
  const shown = file ? /(?:^|\/)(secrets\/(?:apps|backups)\/[a-z0-9-]+\.yaml)$/.exec(file)?.[1] : undefined;
  if (!file || !shown) {
    throw new Error(`synth runs no local command; "${command}" is not a decryption of a secrets file`);
  }
  const expected = secretsFileAt(repositoryRoot, shown);
  const keys = existsSync(file)
    ? Object.keys((parse(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>).filter(
        (key) => key !== "sops",
      )
    : Object.keys(expected.spec);
  const values = Object.fromEntries(
    keys.map((key) => [
      key,
      createHash("sha256").update(`synth-app-secret:${context.stack}:${shown}:${key}`).digest("base64url"),
    ]),
  );
  return {
    result: { stdout: JSON.stringify(values), stderr: "" },
    example: existsSync(file)
      ? `${shown} (its keys, with placeholder values: synth does not decrypt)`
      : `${shown} does not exist yet (placeholders for the keys it will hold; ${expected.task})`,
    secrets: Object.values(values),
  };
}

const handlers: Record<string, (inputs: Record<string, unknown>, context: InvokeContext) => InvokeAnswer> = {
  "terraform:state:getLocalReference": terraformLocalState,
  "cloudflare:index/getIpRanges:getIpRanges": () => ({
    result: exampleData("cloudflare-ip-ranges.json") as Record<string, unknown>,
    example: "Cloudflare IP ranges (pinned example data)",
  }),
  "kubernetes:yaml:decode": yamlDecode,
  "command:local:run": localRun,
};

/** Answers a provider function call the way its provider would, offline. */
export function answerInvoke(
  token: string,
  inputs: Record<string, unknown>,
  context: InvokeContext,
): InvokeAnswer {
  const handler = handlers[token];
  if (!handler) {
    throw new Error(
      `synth cannot answer the invoke "${token}" offline; add an answer in tools/synth/src/invokes.ts`,
    );
  }
  return handler(inputs, context);
}
