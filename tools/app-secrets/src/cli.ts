// Creates or completes an app's stable secrets (the keys its data depends on): the plain document
// goes to stdout, to be piped into `sops --encrypt`. Values already in the file are kept exactly;
// only keys the app declares and the file lacks are generated. Used by `task app:secrets`
// (taskfiles/apps.yml), which decrypts the existing file into stdin.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { completeSecrets, loadSpec, secretsFileState } from "./secrets-file";

const repositoryRoot = resolve(__dirname, "..", "..", "..");

const program = new Command()
  .name("app-secrets")
  .description("Prints an app's stable secrets, existing ones kept and missing ones generated, for sops")
  .argument("<app>", "the app, as in pulumi/apps/<app>")
  .option("--decrypted <path>", "the decrypted current file as JSON (`-` for stdin), when it is encrypted")
  .action((app: string, options: { decrypted?: string }) => {
    if (process.stdout.isTTY) {
      throw new Error("refusing to print secrets to a terminal: pipe the output into `sops --encrypt`");
    }
    const file = join(repositoryRoot, "secrets", "apps", `${app}.yaml`);
    const spec = loadSpec(join(repositoryRoot, "pulumi", "apps"), app);
    const state = secretsFileState(file);
    if (state === "encrypted" && options.decrypted === undefined) {
      throw new Error(`${file} is encrypted: pass its decrypted content with --decrypted`);
    }
    const existing =
      state === "encrypted"
        ? (JSON.parse(
            readFileSync(options.decrypted === "-" ? 0 : String(options.decrypted), "utf8"),
          ) as Record<string, string>)
        : {};
    const { document, added, kept } = completeSecrets(app, spec, existing);
    process.stdout.write(document);
    process.stderr.write(
      `${app}: ${added.length > 0 ? `generated ${added.join(", ")}` : "nothing to generate"}` +
        `${kept.length > 0 ? `; kept ${kept.join(", ")}` : ""}\n`,
    );
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`app-secrets: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
