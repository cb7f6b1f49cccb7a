// Creates or completes a secrets file: an app's (`secrets/apps/<app>.yaml`: its backup secrets and
// the stable secrets its data depends on) or a repository's that is no app's
// (`secrets/backups/<name>.yaml`). The plain document goes to stdout, to be piped into `sops
// --encrypt`. Values already in the file are kept exactly; only keys the file lacks are generated,
// and the ones the operator brings (a storage key) are taken from files with --provide. Used by
// write-secrets.sh (`task app:secrets`, `task backup:secrets`), which decrypts the existing file
// into stdin.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { secretsFileAt } from "@infra/app-secrets";
import { Command } from "commander";
import { completeSecrets, secretsFileState } from "./secrets-file";

const repositoryRoot = resolve(__dirname, "..", "..", "..");

/** `--provide key=path`, repeatable. */
function collectProvided(entry: string, previous: Record<string, string>): Record<string, string> {
  const separator = entry.indexOf("=");
  if (separator <= 0) throw new Error(`--provide ${entry}: expected <key>=<file>`);
  return { ...previous, [entry.slice(0, separator)]: readFileSync(entry.slice(separator + 1), "utf8") };
}

const program = new Command()
  .name("app-secrets")
  .description("Prints a secrets file's values, existing ones kept and missing ones generated, for sops")
  .argument(
    "<file>",
    "the file, from the repository's root: secrets/apps/<app>.yaml or secrets/backups/<name>.yaml",
  )
  .option("--decrypted <path>", "the decrypted current file as JSON (`-` for stdin), when it is encrypted")
  .option(
    "--provide <key=file>",
    "a value the operator brings (rcloneConfig), read from a file",
    collectProvided,
    {},
  )
  .action((path: string, options: { decrypted?: string; provide: Record<string, string> }) => {
    if (process.stdout.isTTY) {
      throw new Error("refusing to print secrets to a terminal: pipe the output into `sops --encrypt`");
    }
    const file = secretsFileAt(repositoryRoot, path);
    const state = secretsFileState(join(repositoryRoot, file.path));
    if (state === "encrypted" && options.decrypted === undefined) {
      throw new Error(`${file.path} is encrypted: pass its decrypted content with --decrypted`);
    }
    const existing =
      state === "encrypted"
        ? (JSON.parse(
            readFileSync(options.decrypted === "-" ? 0 : String(options.decrypted), "utf8"),
          ) as Record<string, string>)
        : {};
    const { document, added, kept, missing } = completeSecrets(
      file.owner,
      file.spec,
      existing,
      options.provide,
    );
    process.stdout.write(document);
    process.stderr.write(
      `${file.owner}: ${added.length > 0 ? `wrote ${added.join(", ")}` : "nothing to generate"}` +
        `${kept.length > 0 ? `; kept ${kept.join(", ")}` : ""}\n`,
    );
    for (const { key, description, variable } of missing) {
      process.stderr.write(
        `${file.owner}: still missing ${key}, ${description}: run \`${file.task} ${variable}=<file>\` once you have it\n`,
      );
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`app-secrets: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
