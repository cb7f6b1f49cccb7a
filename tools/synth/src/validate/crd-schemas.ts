import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readYamlDocuments } from "@infra/core";
import type Ajv from "ajv";
import type { ValidateFunction } from "ajv";
import { goRegExp } from "./regexp";

/** The repository's vendored upstream schemas (see schemas/SOURCES.md). */
export const schemasDir = join(__dirname, "..", "..", "..", "..", "schemas");

type JsonSchema = Record<string, unknown>;

/**
 * Makes a CRD's structural schema strict: the API server silently prunes unknown fields of a
 * custom resource, so a misspelt field would vanish without a word. Objects that list their
 * properties reject others unless the CRD preserves unknown fields there.
 */
function strict(schema: JsonSchema, closeObject = true): JsonSchema {
  const result: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties" && value && typeof value === "object") {
      result.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, strict(child)]),
      );
    } else if (key === "items" && value && typeof value === "object" && !Array.isArray(value)) {
      result.items = strict(value as JsonSchema);
    } else if (key === "additionalProperties" && value && typeof value === "object") {
      result[key] = strict(value as JsonSchema);
    } else if (key === "not" && value && typeof value === "object") {
      result[key] = strict(value as JsonSchema, false);
    } else if ((key === "anyOf" || key === "oneOf" || key === "allOf") && Array.isArray(value)) {
      // A branch constrains some of the fields only; closing it would reject the others.
      result[key] = value.map((child: JsonSchema) => strict(child, false));
    } else {
      result[key] = value;
    }
  }
  if (schema.nullable === true && typeof schema.type === "string") result.type = [schema.type, "null"];
  if (
    closeObject &&
    schema.properties &&
    schema.additionalProperties === undefined &&
    !schema["x-kubernetes-preserve-unknown-fields"]
  ) {
    result.additionalProperties = false;
  }
  return result;
}

interface CrdDocument {
  kind?: string;
  spec?: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema?: { openAPIV3Schema?: JsonSchema } }[];
  };
}

let validators: Map<string, ValidateFunction> | undefined;

function crdFiles(): string[] {
  const root = join(schemasDir, "crds");
  return readdirSync(root).flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((file) => file.endsWith(".yaml"))
      .map((file) => join(root, dir, file)),
  );
}

/**
 * A new ajv, loaded on first use: with a warm validation cache synth compiles no schema, and
 * loading ajv would be most of what validation costs.
 */
export function newAjv(): Ajv {
  const AjvClass = (require("ajv") as typeof import("ajv")).default;
  const addFormats = (require("ajv-formats") as typeof import("ajv-formats")).default;
  const ajv = new AjvClass({
    strict: false,
    allErrors: true,
    validateFormats: true,
    code: { regExp: goRegExp },
  });
  addFormats(ajv);
  // OpenAPI's numeric and byte formats carry no constraint beyond the type.
  for (const format of ["int32", "int64", "byte", "double", "float"]) ajv.addFormat(format, true);
  // Internationalised host names are checked by the API server; any non-empty text passes here.
  ajv.addFormat("idn-hostname", /^\S+$/);
  ajv.addFormat("cidr", /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)\/\d{1,3}$/);
  return ajv;
}

/** The apiVersion/kind pairs the vendored CRDs define, each with its compiled validator (lazily). */
function crdSources(): Map<string, JsonSchema> {
  const sources = new Map<string, JsonSchema>();
  for (const crd of crdFiles().flatMap((file) => readYamlDocuments(file) as CrdDocument[])) {
    if (crd.kind !== "CustomResourceDefinition" || !crd.spec) continue;
    for (const version of crd.spec.versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      const properties = { ...(schema.properties as Record<string, JsonSchema>) };
      // metadata is checked by the API server's ObjectMeta rules, not by the CRD.
      properties.metadata = { type: "object" };
      sources.set(
        `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
        strict({ ...schema, properties }),
      );
    }
  }
  return sources;
}

let sources: Map<string, JsonSchema> | undefined;
let ajv: Ajv | undefined;

/** The validator of a custom resource from the vendored CRDs, or undefined if none defines it. */
export function crdValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  sources ??= crdSources();
  validators ??= new Map();
  const key = `${apiVersion}/${kind}`;
  const cached = validators.get(key);
  if (cached) return cached;
  const schema = sources.get(key);
  if (!schema) return undefined;
  ajv ??= newAjv();
  const validate = ajv.compile(schema);
  validators.set(key, validate);
  return validate;
}
