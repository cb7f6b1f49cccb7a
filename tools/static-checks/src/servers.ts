import { join } from "node:path";
import { readServers, type Servers, schemaAt, serverSchema, siteSchema } from "@infra/core";
import { REPO_ROOT } from "./repo";

/** The server descriptions under servers/ that NixOS, Terraform and Pulumi read, and their problems. */
export function describedServers(root = REPO_ROOT): Servers {
  return readServers(join(root, "servers"));
}

/**
 * The references among `references` (`server.<path>` or `site.<path>`, as a Terraform template reads
 * its locals) that name no field of the description schemas; `kind` is the template's provider kind,
 * so a template of one kind cannot read another kind's fields.
 */
export function unknownDescriptionFields(references: string[], kind: string): string[] {
  const schemas = { server: serverSchema, site: siteSchema } as const;
  return references.filter((reference) => {
    const [local = "", ...path] = reference.split(".");
    if (local !== "server" && local !== "site") return false;
    return schemaAt(schemas[local], path, { provider: { kind } }) === undefined;
  });
}
