// Creates a new server's secrets: its SSH host key and its k3s CA set (plus the Tailscale auth key it
// joins the tailnet with). The plaintext document goes to stdout, to be piped into `sops --encrypt`;
// `.sops.yaml` gets the server's age recipient so that the server can decrypt its own file.
// Used by `task servers:secrets` (taskfiles/servers.yml).
import { readFileSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import { generateHostSecrets } from "./host-secrets";
import { setServerRecipient } from "./sops-config";

const program = new Command()
  .name("host-secrets")
  .description("Generates a server's SSH host key and k3s CAs as a YAML document for sops")
  .argument("<host>", "server name, as in nixos/instances/<host>")
  .requiredOption("--sops-config <path>", "the .sops.yaml to record the server's age recipient in")
  .option(
    "--tailscale-auth-key-env <name>",
    "environment variable holding the Tailscale auth key",
    "TAILSCALE_AUTH_KEY",
  )
  .action(async (host: string, options: { sopsConfig: string; tailscaleAuthKeyEnv: string }) => {
    if (process.stdout.isTTY) {
      throw new Error("refusing to print secrets to a terminal: pipe the output into `sops --encrypt`");
    }
    const authKey = process.env[options.tailscaleAuthKeyEnv];
    if (!authKey) {
      throw new Error(
        `${options.tailscaleAuthKeyEnv} is not set: create an auth key in the Tailscale admin console (Settings → Keys)`,
      );
    }
    const secrets = await generateHostSecrets(host, authKey);
    const sopsConfig = readFileSync(options.sopsConfig, "utf8");
    writeFileSync(options.sopsConfig, setServerRecipient(sopsConfig, host, secrets.ageRecipient));
    process.stdout.write(secrets.document);
    process.stderr.write(
      `${host}: SSH host key ${secrets.sshPublicKey}\n${host}: age recipient ${secrets.ageRecipient}\n`,
    );
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`host-secrets: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
