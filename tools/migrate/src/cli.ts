import { join } from "node:path";
import { placementPath, repositoryRoot } from "@infra/core";
import { Command, InvalidArgumentError } from "commander";
import { migrateAll } from "./migrate-all";
import { type MigrationContext, migrateApp, migrationStatus, rollbackApp } from "./migration";
import { PlacementFile } from "./placement-file";
import { PulumiCluster } from "./pulumi-cluster";

function context(): MigrationContext {
  return {
    placement: new PlacementFile(join(repositoryRoot, placementPath)),
    cluster: new PulumiCluster(),
    log: (line) => console.log(line),
  };
}

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError("expected a whole number of at least 1");
  return parsed;
}

const program = new Command("migrate")
  .description("Move apps between servers with no data lost and never two copies running (docs/migration.md)")
  .showHelpAfterError();

program
  .command("app")
  .description("move one app to a server, or continue its interrupted migration")
  .argument("<app>", "the app (its project's name)")
  .requiredOption("--to <server>", "the server it moves to")
  .option(
    "--force-hold",
    "take the app from whichever server its repository says holds it (what that server wrote since is given up)",
  )
  .action(async (app: string, options: { to: string; forceHold?: boolean }) => {
    await migrateApp(context(), { app, to: options.to, ...(options.forceHold ? { forceHold: true } : {}) });
  });

program
  .command("all")
  .description("move every app of a server to another: the layers they need first, apps in parallel")
  .requiredOption("--from <server>", "the server the apps leave")
  .requiredOption("--to <server>", "the server they move to")
  .option("--parallel <n>", "apps moved at once", count, 2)
  .option("--remove-source-layers", "then destroy the source's own layers, last to first")
  .action(async (options: { from: string; to: string; parallel: number; removeSourceLayers?: boolean }) => {
    await migrateAll(context(), {
      from: options.from,
      to: options.to,
      parallel: options.parallel,
      removeSourceLayers: options.removeSourceLayers ?? false,
    });
  });

program
  .command("status")
  .description("where each app runs, and where each migration stands")
  .action(() => {
    for (const line of migrationStatus(context())) console.log(line);
  });

program
  .command("rollback")
  .description(
    "return an app whose target never took over (its DNS records are still the source's) to the source",
  )
  .argument("<app>", "the app")
  .action(async (app: string) => {
    await rollbackApp(context(), app);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
