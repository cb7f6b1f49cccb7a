import { type AppOnStack, appOnStack, type Placement, readPlacement } from "@infra/core";
import * as pulumi from "@pulumi/pulumi";

/**
 * The placement file programs read: `pulumi/placement.yaml`, or the file HOMELAB_PLACEMENT names
 * (tests, and a rehearsal of a migration's states).
 */
function placementFile(): string | undefined {
  return process.env.HOMELAB_PLACEMENT || undefined;
}

const placements = new Map<string, Placement>();

function currentPlacement(): Placement {
  const file = placementFile();
  const key = file ?? "";
  let placement = placements.get(key);
  if (!placement) {
    placement = readPlacement(file);
    placements.set(key, placement);
  }
  return placement;
}

/** What the app is on the stack being deployed, from the placement. */
export function appOnThisStack(app: string): AppOnStack {
  return appOnStack(currentPlacement(), app, pulumi.getStack());
}

/**
 * Runs an app project's program only on the stack the placement gives the app (the project's
 * name): elsewhere it creates nothing, so `pulumi up` there removes the app, after its final backup.
 * Its result is what the project exports (undefined where the app is not).
 */
export function whenPlaced<T>(create: () => T): T | undefined {
  const app = pulumi.getProject();
  if (!appOnThisStack(app).runs) {
    pulumi.log.info(
      `${app} is not placed on stack ${pulumi.getStack()} (pulumi/placement.yaml): nothing to deploy`,
    );
    return undefined;
  }
  return create();
}

/**
 * The namespaces a gateway's config lists, less the apps' that do not run on this stack: a
 * gateway may list an app on every server it can move to, and serves it only where it runs now
 * (Traefik must never watch a namespace where it has no Role: it would wait for it forever).
 */
export function namespacesRunningHere(namespaces: string[]): string[] {
  const placement = currentPlacement();
  return namespaces.filter((namespace) => !(namespace in placement) || appOnThisStack(namespace).runs);
}
