import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

const exampleDataDir = join(__dirname, "..", "example-data");

/** What an invoke answered, and whether it came from example data. */
export interface InvokeAnswer {
  result: Record<string, unknown>;
  /** Set when example data stood in for a real source; says which. */
  example?: string;
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
  const outputs = examples[context.stack];
  if (!outputs) {
    throw new Error(`No Terraform state at ${path}, and no example outputs for stack "${context.stack}"`);
  }
  return { result: { outputs }, example: `Terraform state ${path} (example outputs used)` };
}

function yamlDecode(inputs: Record<string, unknown>): InvokeAnswer {
  const text = typeof inputs.text === "string" ? inputs.text : "";
  const result = parseAllDocuments(text)
    .map((document) => document.toJS() as unknown)
    .filter((document) => document !== null);
  return { result: { result } };
}

const handlers: Record<string, (inputs: Record<string, unknown>, context: InvokeContext) => InvokeAnswer> = {
  "terraform:state:getLocalReference": terraformLocalState,
  "cloudflare:index/getIpRanges:getIpRanges": () => ({
    result: exampleData("cloudflare-ip-ranges.json") as Record<string, unknown>,
    example: "Cloudflare IP ranges (pinned example data)",
  }),
  "kubernetes:yaml:decode": yamlDecode,
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
