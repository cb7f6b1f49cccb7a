import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parsePlacement } from "@infra/core";
import { partsOf } from "./create";
import { nameProblem, UsageError } from "./describe";
import { paths, removeAll, stateHoldsResources } from "./repository";

function policyOwner(root: string): string | undefined {
  const file = join(root, "servers", "site.json");
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, "utf8")) as { tailnet?: { policyOwner?: string } }).tailnet
    ?.policyOwner;
}

function appsOn(root: string, name: string): string[] {
  const file = join(root, paths.placement);
  if (!existsSync(file)) return [];
  const placement = parsePlacement(readFileSync(file, "utf8"), paths.placement);
  return Object.entries(placement)
    .filter(([, entry]) => entry.server === name || entry.migration?.to === name)
    .map(([app]) => app);
}

/**
 * Removes a server's description, Terraform instance and stack files, all or none, and returns what
 * to print. Refuses, changing nothing, while an app is placed on it, its Terraform state records a
 * live machine, or it owns the tailnet's policy.
 */
export function removeServer(root: string, name: string): string[] {
  const problem = nameProblem(name);
  if (problem) throw new UsageError(`${name}: ${problem}`);
  const parts = partsOf(root, name);
  if (parts.length === 0)
    throw new UsageError(
      `${name}: no such server (no ${paths.server(name)}, Terraform instance or stack file)`,
    );
  const apps = appsOn(root, name);
  const owner = policyOwner(root);
  const state = join(paths.instance(name), "terraform.tfstate");
  const refusals = [
    ...(apps.length > 0
      ? [
          `${paths.placement} places ${apps.join(", ")} on it: move them first (task migrate APP=<app> TO=<server>)`,
        ]
      : []),
    ...(existsSync(join(root, state)) && stateHoldsResources(join(root, state))
      ? [`${state} records a live server: destroy it first (task servers:destroy HOST=${name})`]
      : []),
    ...(owner === name
      ? [
          "it owns the tailnet's policy (tailnet.policyOwner in servers/site.json): make another server the owner first",
        ]
      : []),
  ];
  if (refusals.length > 0)
    throw new UsageError(`Not removing ${name}:\n${refusals.map((line) => `  ${line}`).join("\n")}`);

  removeAll(root, parts);
  return [
    `Removed ${name}:`,
    ...parts.map((part) => `  ${part}`),
    "Next:",
    ...(owner
      ? [`  task up PROJECT=internal-gateway STACK=${owner}: the tailnet's policy drops ${name}'s routes.`]
      : []),
    ...(existsSync(join(root, "secrets", "hosts", `${name}.yaml`))
      ? [
          `  Delete secrets/hosts/${name}.yaml and its recipient in .sops.yaml once you need its identity no more.`,
        ]
      : []),
    `  If its layers were ever deployed, drop their state: pulumi stack rm ${name} --force in each project.`,
    "  Commit the removal.",
  ];
}
