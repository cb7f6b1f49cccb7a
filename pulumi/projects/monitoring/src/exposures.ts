import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readPlacement } from "@infra/core";
import {
  appOnThisStack,
  exposuresOutput,
  getStack,
  type PrivateName,
  privateNamesOutput,
  privateNamesReaders,
  type RecordedExposure,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";

/**
 * The projects of this stack that may expose hostnames: every project with a stack file for it
 * (an app's only where pulumi/placement.yaml runs it), this one and its readers excepted. Each
 * is referenced, so the monitor deploys after all of them.
 */
export function projectsOfStack(projectsDir: string, self: string): string[] {
  const stack = pulumi.getStack();
  const apps = readPlacement(process.env.HOMELAB_PLACEMENT || undefined);
  const skipped = new Set([self, ...privateNamesReaders]);
  return readdirSync(projectsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !skipped.has(entry.name))
    .map((entry) => entry.name)
    .filter((project) => existsSync(join(projectsDir, project, `Pulumi.${stack}.yaml`)))
    .filter((project) => !(project in apps) || appOnThisStack(project).runs)
    .sort();
}

/** A list output of each of these projects (none where a project does not export it), joined. */
function joinedOutput<T>(projects: string[], output: string): pulumi.Output<T[]> {
  return pulumi
    .all(
      projects.map((project) =>
        pulumi
          .output(getStack(project).getOutputDetails(output))
          .apply((details): unknown[] => (details.value ?? details.secretValue ?? []) as unknown[]),
      ),
    )
    .apply((lists) => lists.flat() as T[]);
}

/**
 * Every hostname the projects of this stack expose: the `exposures` output the kit gives each
 * program that exposes one (`recordExposure`), read through StackReferences.
 */
export function stackExposures(projects: string[]): pulumi.Output<RecordedExposure[]> {
  return joinedOutput<RecordedExposure>(projects, exposuresOutput);
}

/**
 * Every private name the projects of this stack hold: the `privateNames` output the kit gives each
 * program that records one (`recordPrivateName`), read through StackReferences.
 */
export function stackPrivateNames(projects: string[]): pulumi.Output<PrivateName[]> {
  return joinedOutput<PrivateName>(projects, privateNamesOutput);
}
