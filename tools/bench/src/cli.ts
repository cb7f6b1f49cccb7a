import { Command } from "commander";

// Each benchmark lives in its own module, loaded only when asked for.
const program = new Command("bench").description(
  "Benchmarks that measure side by side in one run and print the ratio",
);

program
  .command("synth")
  .description("synth every project of a stack vs. bare loading of @pulumi/pulumi and @pulumi/kubernetes")
  .option("--stack <stack>", "stack to synthesize", "cloud-a")
  .option("--runs <n>", "runs of each side (the median is reported)", "5")
  .option("--app <project>", "the app whose stack file the warm runs change (its storage size)", "etebase")
  .action(async (options: { stack: string; runs: string; app: string }) => {
    const { benchSynth } = await import("./synth");
    await benchSynth({ stack: options.stack, runs: Number(options.runs), app: options.app });
  });

program
  .command("backup")
  .description("restic backup/restore scripts vs. tar on the same generated data set")
  .option("--size-gib <n>", "size of the generated data set in GiB", "1")
  .option("--work-dir <dir>", "where to put the data, repository and copies (default: a temporary directory)")
  .action(async (options: { sizeGib: string; workDir?: string }) => {
    const { benchBackup } = await import("./backup");
    await benchBackup({ sizeGiB: Number(options.sizeGib), workDir: options.workDir });
  });

program
  .command("migrate")
  .description("the downtime of task migrate (rehearsal servers) vs. copying the same data with tar")
  .option("--size-gib <n>", "size of the app's files in GiB", "1")
  .option("--database-mib <n>", "size of the app's database in MiB", "300")
  .option(
    "--work-dir <dir>",
    "where to put the servers, the storage and the copy (default: a temporary directory)",
  )
  .action(async (options: { sizeGib: string; databaseMib: string; workDir?: string }) => {
    const { benchMigrate } = await import("./migrate");
    await benchMigrate({
      sizeGiB: Number(options.sizeGib),
      databaseMiB: Number(options.databaseMib),
      workDir: options.workDir,
    });
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
