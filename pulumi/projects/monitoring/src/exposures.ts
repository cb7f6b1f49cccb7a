import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readPlacement } from "@infra/core";
import { appOnThisStack, exposuresOutput, getStack, type RecordedExposure } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";

/**
 * The projects of this stack that may expose hostnames: every project with a stack file for it
 * (an app's only where pulumi/placement.yaml runs it), this one excepted. Each is referenced, so
 * the monitor deploys after all of them.
 */
export function projectsOfStack(projectsDir: string, self: string): string[] {
  const stack = pulumi.getStack();
  const apps = readPlacement(process.env.HOMELAB_PLACEMENT || undefined);
  return readdirSync(projectsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== self)
    .map((entry) => entry.name)
    .filter((project) => existsSync(join(projectsDir, project, `Pulumi.${stack}.yaml`)))
    .filter((project) => !(project in apps) || appOnThisStack(project).runs)
    .sort();
}

/**
 * Every hostname the projects of this stack expose: the `exposures` output the kit gives each
 * program that exposes one (`recordExposure`), read through StackReferences.
 */
export function stackExposures(projects: string[]): pulumi.Output<RecordedExposure[]> {
  return pulumi
    .all(
      projects.map((project) =>
        pulumi
          .output(getStack(project).getOutputDetails(exposuresOutput))
          .apply((details) => (details.value ?? details.secretValue ?? []) as RecordedExposure[]),
      ),
    )
    .apply((lists) => lists.flat());
}
