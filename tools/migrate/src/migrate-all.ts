import { type MigrationContext, migrateApp } from "./migration";

export interface MigrateAllOptions {
  from: string;
  to: string;
  /** Apps migrated at once (independent of each other: each has its own repository and database). */
  parallel: number;
  /** Also destroy the source's remaining layers, in reverse order, once every app left. */
  removeSourceLayers: boolean;
  forceHold?: boolean;
}

/**
 * Moves every app of `from` to `to`: first the layers they need on the target (database servers,
 * gateways, in the target's layer order), then the apps, `parallel` at a time, then (only when
 * asked) the source's own layers, last to first. An app that fails stops only itself: the others
 * go on, and the command fails at the end naming each, resumable as a whole.
 */
export async function migrateAll(ctx: MigrationContext, options: MigrateAllOptions): Promise<void> {
  const { from, to, cluster } = { ...options, cluster: ctx.cluster };
  const apps = Object.entries(ctx.placement.read())
    .filter(([, entry]) => entry.server === from)
    .map(([app]) => app)
    .sort();
  ctx.log(`${apps.length} apps on ${from}: ${apps.join(", ") || "none"}`);
  const deployed = new Set(await cluster.deployed(to));
  const layers: string[] = [];
  for (const app of apps) {
    for (const layer of await cluster.layersOf(app, to)) {
      if (layer !== app && !apps.includes(layer) && !layers.includes(layer)) layers.push(layer);
    }
  }
  for (const layer of layers.filter((project) => !deployed.has(project))) {
    ctx.log(`deploying ${layer} on ${to}, which the apps need`);
    await cluster.deploy(to, layer);
  }
  const failed: string[] = [];
  const queue = [...apps];
  const worker = async () => {
    for (let app = queue.shift(); app !== undefined; app = queue.shift()) {
      const name = app;
      try {
        await migrateApp(
          {
            ...ctx,
            log: (line) => ctx.log(line.startsWith(name) || line.startsWith("[") ? line : `${name}: ${line}`),
          },
          { app: name, to, ...(options.forceHold ? { forceHold: true } : {}) },
        );
      } catch (error) {
        failed.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
  if (failed.length > 0) {
    throw new Error(
      `${failed.length} of ${apps.length} apps did not move (run the same command again to continue):\n  ${failed.join("\n  ")}`,
    );
  }
  if (!options.removeSourceLayers) {
    ctx.log(`every app left ${from}; its layers stay (--remove-source-layers destroys them)`);
    return;
  }
  const remaining = (await cluster.layerOrder(from)).reverse();
  for (const project of remaining) {
    ctx.log(`destroying ${project} on ${from}`);
    await cluster.destroy(from, project);
  }
}
