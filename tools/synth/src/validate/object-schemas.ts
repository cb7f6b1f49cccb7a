import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ErrorObject } from "ajv";
import { crdValidator } from "./crd-schemas";

/** The kubernetes-models package that models a Kubernetes API group. */
function modelPackage(group: string): string | undefined {
  if (group === "gateway.networking.k8s.io") return "@kubernetes-models/gateway-api";
  if (group === "cert-manager.io" || group === "acme.cert-manager.io")
    return "@kubernetes-models/cert-manager";
  if (group === "traefik.io") return "@kubernetes-models/traefik";
  if (
    group === "" ||
    group.endsWith(".k8s.io") ||
    ["apps", "batch", "autoscaling", "policy"].includes(group)
  ) {
    return "kubernetes-models";
  }
  return undefined;
}

function packageDir(name: string): string | undefined {
  return (require.resolve.paths(name) ?? [])
    .map((dir) => join(dir, name))
    .find((dir) => existsSync(join(dir, "package.json")));
}

type StandaloneValidate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
const modelValidators = new Map<string, Promise<StandaloneValidate | undefined>>();

/**
 * The precompiled validator of one kind. Only that kind's schema module is imported (a group's
 * index would load every model of the group): the model file names it.
 */
function modelValidator(
  group: string,
  version: string,
  kind: string,
): Promise<StandaloneValidate | undefined> {
  const cacheKey = `${group}/${version}/${kind}`;
  let validator = modelValidators.get(cacheKey);
  if (!validator) {
    validator = (async () => {
      const name = modelPackage(group);
      const dir = name ? packageDir(name) : undefined;
      if (!name || !dir) return undefined;
      const modelFile = join(dir, group === "" ? "" : group, version, `${kind}.js`);
      if (!existsSync(modelFile)) return undefined;
      const schema = /_schemas\/(\w+)\.js/.exec(readFileSync(modelFile, "utf8"))?.[1];
      if (!schema) return undefined;
      // The schema modules are imported by path: not every package exports them.
      const url = pathToFileURL(join(dir, "_schemas", `${schema}.js`)).href;
      const module = (await import(url)) as { validate: StandaloneValidate };
      return module.validate;
    })();
    modelValidators.set(cacheKey, validator);
  }
  return validator;
}

// Precompiled validators carry no messages; these read like ajv's own.
function messageOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "type":
      return `must be ${String(params.type)}`;
    case "enum":
      return `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(", ")}`;
    case "required":
      return `must have required property '${String(params.missingProperty)}'`;
    case "pattern":
      return `must match pattern "${String(params.pattern)}"`;
    case "format":
      return `must match format "${String(params.format)}"`;
    case "minimum":
    case "maximum":
    case "minLength":
    case "maxLength":
    case "minItems":
    case "maxItems":
      return `must satisfy ${error.keyword} ${String(params.limit)}`;
    default:
      return `fails ${error.keyword} ${JSON.stringify(params)}`;
  }
}

function ajvPath(error: ErrorObject): string {
  // A JSON pointer escapes "/" in a key (app.kubernetes.io/name) as "~1" and "~" as "~0".
  const path = error.instancePath
    .split("/")
    .filter(Boolean)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
  const extra = error.params as { additionalProperty?: string };
  if (error.keyword === "additionalProperties" && extra.additionalProperty) {
    return `${path ? `${path}.` : ""}${extra.additionalProperty}: unknown field (the API server would drop it)`;
  }
  return `${path || "(object)"}: ${error.message ?? messageOf(error)}`;
}

/**
 * Checks one object against its upstream schema: the vendored CRD when one defines the kind
 * (exact version, unknown fields rejected), else the kubernetes-models package of its group.
 * Returns one line per problem, each with the field's path.
 */
export async function validateObjectSchema(object: Record<string, unknown>): Promise<string[]> {
  const apiVersion = String(object.apiVersion ?? "");
  const kind = String(object.kind ?? "");
  if (!apiVersion || !kind) return ["apiVersion/kind: missing"];
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const validate = crdValidator(apiVersion, kind);
  if (validate) {
    if (validate(object)) return [];
    return (validate.errors ?? []).map(ajvPath);
  }
  const validateModel = await modelValidator(group ?? "", version ?? "", kind);
  if (!validateModel) return [`${apiVersion} ${kind}: no schema is known for this kind`];
  if (validateModel(object)) return [];
  return (validateModel.errors ?? []).map(ajvPath);
}
