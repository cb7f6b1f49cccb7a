import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv";
import { schemasDir } from "./crd-schemas";
import { goRegExp } from "./regexp";

/** Charts that ship no values schema, and why their values are checked only for meaning. */
export const chartsWithoutSchema: Record<string, string> = {
  "kubernetes-dashboard": "the chart (7.13.0) ships no values.schema.json",
};

const compiled = new Map<string, ValidateFunction>();

function validatorFor(chart: string): ValidateFunction | undefined {
  const cached = compiled.get(chart);
  if (cached) return cached;
  const file = join(schemasDir, "charts", chart, "values.schema.json");
  if (!existsSync(file)) return undefined;
  const schema = JSON.parse(readFileSync(file, "utf8")) as { $schema?: string };
  const options = { strict: false, allErrors: true, code: { regExp: goRegExp } };
  // ajv loads on first use (see newAjv in crd-schemas.ts).
  const Ajv2020 = (require("ajv/dist/2020") as typeof import("ajv/dist/2020")).default;
  const Ajv = (require("ajv") as typeof import("ajv")).default;
  const addFormats = (require("ajv-formats") as typeof import("ajv-formats")).default;
  const ajv = schema.$schema?.includes("2020-12") ? new Ajv2020(options) : new Ajv(options);
  addFormats(ajv);
  const validate = ajv.compile(schema);
  compiled.set(chart, validate);
  return validate;
}

function describe(error: ErrorObject): string {
  const path = ["values", ...error.instancePath.split("/").filter(Boolean)].join(".");
  const extra = error.params as { additionalProperty?: string; allowedValues?: unknown[] };
  if (extra.additionalProperty) return `${path}.${extra.additionalProperty}: not a value of this chart`;
  if (extra.allowedValues) return `${path}: ${error.message} (${extra.allowedValues.join(", ")})`;
  return `${path}: ${error.message ?? error.keyword}`;
}

/**
 * Checks a Helm release's values against its chart's `values.schema.json` (vendored under
 * schemas/charts/<chart>/, for the pinned version). A chart with no vendored schema is a
 * problem unless it is known to ship none.
 */
export function validateHelmValues(chart: string, version: string, values: unknown): string[] {
  const validate = validatorFor(chart);
  if (!validate) {
    if (chart in chartsWithoutSchema) return [];
    return [`chart ${chart} ${version}: no values schema is vendored under schemas/charts/${chart}/`];
  }
  if (validate(values ?? {})) return [];
  return (validate.errors ?? []).filter((error) => error.keyword !== "if").map(describe);
}
