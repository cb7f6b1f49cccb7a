import { join } from "node:path";
import { readServers, type Servers, serverSchema, siteSchema } from "@infra/core";
import { REPO_ROOT } from "./repo";

/** The server descriptions under servers/ that NixOS, Terraform and Pulumi read, and their problems. */
export function describedServers(root = REPO_ROOT): Servers {
  return readServers(join(root, "servers"));
}

/** What the field walk needs of a zod schema (zod 4's `def` and `shape`). */
interface SchemaNode {
  def: { type: string; innerType?: SchemaNode; options?: SchemaNode[]; values?: unknown[] };
  shape?: Record<string, SchemaNode>;
}

/**
 * Whether `path` names a field of `schema`. A union of provider kinds narrows to the option of
 * `kind`, so a template of one kind cannot read another kind's fields.
 */
function hasField(schema: SchemaNode, path: string[], kind: string): boolean {
  const [head, ...rest] = path;
  if (head === undefined) return true;
  const { type, innerType, options = [] } = schema.def;
  if ((type === "optional" || type === "nullable" || type === "default") && innerType) {
    return hasField(innerType, path, kind);
  }
  if (type === "union") {
    return options
      .filter((option) => option.shape?.kind?.def.values?.includes(kind) ?? true)
      .some((option) => hasField(option, path, kind));
  }
  const field = type === "object" ? schema.shape?.[head] : undefined;
  return field !== undefined && hasField(field, rest, kind);
}

/**
 * The references among `references` (`server.<path>` or `site.<path>`, as a Terraform template reads
 * its locals) that name no field of the description schemas; `kind` is the template's provider kind.
 */
export function unknownDescriptionFields(references: string[], kind: string): string[] {
  const schemas: Record<string, SchemaNode> = {
    server: serverSchema as unknown as SchemaNode,
    site: siteSchema as unknown as SchemaNode,
  };
  return references.filter((reference) => {
    const [local = "", ...path] = reference.split(".");
    const schema = schemas[local];
    return schema !== undefined && !hasField(schema, path, kind);
  });
}
