import type { z } from "zod";

/** A key a value sets that its schema does not know, and the known key it most likely meant. */
export interface UnknownKey {
  /** The dotted path of the key, from the value's root. */
  path: string;
  /** The nearest known key at that place, when one is close enough to be a typo. */
  suggestion?: string;
  /** Every key known at that place. */
  known: string[];
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
  values?: unknown[];
};

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

// Wrappers that validate the same value as the schema they wrap.
const wrappers = new Set(["optional", "nullable", "default", "prefault", "catch", "readonly", "nonoptional"]);

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const definition = def(current);
    if (wrappers.has(definition.type) && definition.innerType) current = definition.innerType;
    else if (definition.type === "pipe" && definition.in) current = definition.in;
    else if (definition.type === "lazy" && definition.getter) current = definition.getter();
    else return current;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The literal values an option's discriminator takes, for picking the option a value means. */
function literalValues(schema: z.ZodType | undefined): unknown[] {
  if (!schema) return [];
  const definition = def(unwrap(schema));
  return definition.type === "literal" || definition.type === "enum"
    ? Object.values(definition.values ?? {})
    : [];
}

/** The option of a union that `value` is written for, if one can tell. */
function unionOption(definition: Def, value: unknown): z.ZodType | undefined {
  const options = definition.options ?? [];
  const objects = options.filter((option) => def(unwrap(option)).type === "object");
  if (!isPlainObject(value) || objects.length === 0) return undefined;
  if (definition.discriminator) {
    const tag = value[definition.discriminator];
    return objects.find((option) =>
      literalValues(def(unwrap(option)).shape?.[definition.discriminator as string]).includes(tag),
    );
  }
  // The option that knows the most of the value's keys: the one its author meant.
  const scored = objects.map((option) => ({
    option,
    known: Object.keys(value).filter((key) => key in (def(unwrap(option)).shape ?? {})).length,
  }));
  scored.sort((a, b) => b.known - a.known);
  return scored[0]?.option;
}

/** The keys an object schema knows, or undefined when it takes any key (a record, a loose object). */
export function objectKeys(schema: z.ZodType): string[] | undefined {
  const definition = def(unwrap(schema));
  if (definition.type === "intersection" && definition.left && definition.right) {
    const left = objectKeys(definition.left);
    const right = objectKeys(definition.right);
    return left && right ? [...left, ...right] : undefined;
  }
  if (definition.type !== "object") return undefined;
  if (definition.catchall && def(definition.catchall).type !== "never") return undefined;
  return Object.keys(definition.shape ?? {});
}

/** The schema of `key` inside `schema` (an object's field, an array's item, a record's value). */
function childSchema(schema: z.ZodType, key: string, value: unknown): z.ZodType | undefined {
  const definition = def(unwrap(schema));
  if (definition.type === "union") {
    const option = unionOption(definition, value);
    return option ? childSchema(option, key, value) : undefined;
  }
  if (definition.type === "object") return definition.shape?.[key];
  if (definition.type === "array" && /^\d+$/.test(key)) return definition.element;
  if (definition.type === "record") return definition.valueType;
  return undefined;
}

/**
 * The schema of the field at `path` inside `schema`, or undefined when it has no such field. At a
 * union, the path follows the option that `value` (what the path is read from) is written for.
 */
export function schemaAt(schema: z.ZodType, path: readonly string[], value?: unknown): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  let at = value;
  for (const key of path) {
    current = current && childSchema(current, key, at);
    if (!current) return undefined;
    at = isPlainObject(at) ? at[key] : undefined;
  }
  return current;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The known key closest to `key`, if it is close enough to be a typo of it. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = levenshtein(key, candidate);
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  if (!best) return undefined;
  const prefix =
    best.key.toLowerCase().startsWith(key.toLowerCase()) ||
    key.toLowerCase().startsWith(best.key.toLowerCase());
  return best.distance <= Math.max(2, Math.floor(key.length / 3)) || prefix ? best.key : undefined;
}

/**
 * Every key of `value` that `schema` does not know, however deep (objects, arrays, records and
 * unions are followed), each with the known key nearest to it. Zod drops such keys silently
 * unless a schema is strict; a config setting must never be ignored that way.
 */
export function unknownKeys(schema: z.ZodType, value: unknown, path: string[] = []): UnknownKey[] {
  const inner = unwrap(schema);
  const definition = def(inner);
  if (definition.type === "union") {
    const option = unionOption(definition, value);
    return option ? unknownKeys(option, value, path) : [];
  }
  if (definition.type === "array" && definition.element && Array.isArray(value)) {
    return value.flatMap((item, index) =>
      unknownKeys(definition.element as z.ZodType, item, [...path, String(index)]),
    );
  }
  if (definition.type === "record" && definition.valueType && isPlainObject(value)) {
    return Object.entries(value).flatMap(([key, item]) =>
      unknownKeys(definition.valueType as z.ZodType, item, [...path, key]),
    );
  }
  if (!isPlainObject(value)) return [];
  const known = objectKeys(inner);
  if (!known) return [];
  const shape = definition.type === "object" ? (definition.shape ?? {}) : {};
  return Object.entries(value).flatMap(([key, item]) => {
    if (!known.includes(key)) {
      const suggestion = nearest(key, known);
      return [{ path: [...path, key].join("."), known, ...(suggestion ? { suggestion } : {}) }];
    }
    const child = shape[key];
    return child ? unknownKeys(child, item, [...path, key]) : [];
  });
}

/** "`<path>` is not a setting; did you mean `<suggestion>`?" */
export function describeUnknownKey(prefix: string, unknown: UnknownKey): string {
  const place = unknown.path.includes(".") ? unknown.path.slice(0, unknown.path.lastIndexOf(".")) : "";
  const known =
    unknown.known.length > 0
      ? ` (${place ? `${prefix}${place} takes` : "known"}: ${unknown.known.join(", ")})`
      : "";
  return unknown.suggestion
    ? `${prefix}${unknown.path} is not a setting; did you mean ${unknown.suggestion}?`
    : `${prefix}${unknown.path} is not a setting${known}`;
}
