import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Placement, placementPath, readPlacement } from "@infra/core";
import type { ProjectInfo } from "../projects";

/** The placement beside the projects' directory (`pulumi/placement.yaml`), if there is one. */
export function placementBeside(projectsDir: string): { placement: Placement; file: string } | undefined {
  const file = join(projectsDir, "..", "placement.yaml");
  return existsSync(file) ? { placement: readPlacement(file), file } : undefined;
}

/**
 * Checks the placement against every stack, whichever were synthesized: each app is a project,
 * and each server it is placed on (or migrating to) has that project's stack file and the
 * `shared` layer, so that `pulumi up` there finds its settings and its server.
 */
export function checkPlacement(placement: Placement, projects: Map<string, ProjectInfo>): string[] {
  const problems: string[] = [];
  const servers = projects.get("shared")?.stacks ?? [];
  for (const [app, entry] of Object.entries(placement)) {
    const project = projects.get(app);
    if (!project) {
      problems.push(
        `${placementPath}: apps.${app} is no project (projects: ${[...projects.keys()].sort().join(", ")})`,
      );
      continue;
    }
    const placedOn = [entry.server, ...(entry.migration ? [entry.migration.to] : [])];
    for (const server of placedOn) {
      if (!servers.includes(server)) {
        problems.push(
          `${placementPath}: apps.${app} is placed on "${server}", which is no server (stacks of project shared: ${servers.join(", ")})`,
        );
      } else if (!project.stacks.includes(server)) {
        problems.push(
          `${placementPath}: apps.${app} is placed on "${server}", but project ${app} has no Pulumi.${server}.yaml: ` +
            `create it (pulumi config cp --stack <a server it has> --dest ${server}, in pulumi/projects/${app})`,
        );
      }
    }
  }
  return problems;
}
