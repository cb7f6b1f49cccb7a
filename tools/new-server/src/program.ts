import { resolve } from "node:path";
import { repositoryRoot } from "@infra/core";
import { Command, CommanderError, Option } from "commander";
import { type Ask, defaultsAsk, MissingValue, promptAsk, refusingAsk } from "./ask";
import { createServer } from "./create";
import { type Flags, fieldSchema, providerFields, UsageError } from "./describe";
import { removeServer } from "./remove";

/** Where the program writes, and how it asks when neither flags nor --yes give a value. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** The prompts; the terminal's when stdin is one, a refusal naming the flag otherwise. */
  ask?: Ask;
}

function program(io: Io): Command {
  const command = new Command("new-server")
    .description(
      "Describe a new server (servers/<name>.json, its Terraform instance, its base layers' stack files), " +
        "asking for what the flags leave out; or remove one that nothing uses (--remove).",
    )
    .argument("[name]", "the new server's name, a DNS label such as home-1")
    .option("--remove <name>", "remove the server's description, Terraform instance and stack files")
    .option("--role <role>", "cloud or home (default: from the provider; asked for an existing machine)")
    .option("--provider <kind>", "hcloud, digitalocean, proxmox or existing")
    .option("--public", "its public address serves the public gateway (default: for a cloud server)")
    .option("--no-public", "it serves no public gateway (default: for a home server)");
  for (const [kind, fields] of Object.entries(providerFields)) {
    for (const field of fields) {
      if (field.type === "boolean") {
        command.addOption(
          new Option(`--${field.flag}`, `${kind}: ${fieldSchema(kind as never, field).message}`),
        );
        command.addOption(new Option(`--no-${field.flag}`, `${kind}: the opposite (default)`));
      } else {
        const help = `${kind}: ${fieldSchema(kind as never, field).message}`;
        command.addOption(
          new Option(
            `--${field.flag} <value>`,
            field.default === undefined ? help : `${help} (default: ${field.default})`,
          ),
        );
      }
    }
  }
  return command
    .option("--cluster-cidr <cidr>", "its pod range (default: a free /16 in 10.0.0.0/8)")
    .option("--service-cidr <cidr>", "its service range (default: a free /16 in 10.0.0.0/8)")
    .option("--kube-context <name>", "its kube context, when not its name")
    .option("-y, --yes", "ask nothing: accept the defaults, and fail naming a flag whose value has none")
    .option("--root <dir>", "the repository to write in", repositoryRoot)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError("(./run new-server --help lists the flags)");
}

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const command = program(io);
  try {
    command.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  const { remove, yes, root, ...flags } = command.opts<
    Flags & { remove?: string; yes?: boolean; root: string }
  >();
  const [name] = command.args;
  try {
    if (remove !== undefined) {
      if (name !== undefined)
        throw new UsageError("give either a name to create or --remove <name>, not both");
      io.out(`${removeServer(resolve(root), remove).join("\n")}\n`);
      return 0;
    }
    if (name === undefined)
      throw new UsageError("name the new server: ./run new-server <name> (--help lists the flags)");
    const ask = yes ? defaultsAsk : (io.ask ?? (process.stdin.isTTY ? promptAsk() : refusingAsk));
    io.out(`${(await createServer(resolve(root), name, flags, ask)).join("\n")}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof MissingValue)) throw error;
    io.err(`new-server: ${error.message}\n`);
    return 1;
  }
}
