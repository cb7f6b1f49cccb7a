import { readFileSync } from "node:fs";
import { join } from "node:path";
import { images } from "@infra/core";
import type { ToolPackage } from "@infra/scripting";

/** Where the store's scripts live in the repository. */
export const storeScriptsDir = join(__dirname, "..", "scripts");

const library = "garage-lib.sh";

/** Files of scripts/ by name, with the library they source. */
export function storeScripts(...names: string[]): Record<string, string> {
  return Object.fromEntries(
    [library, ...names].map((name) => [name, readFileSync(join(storeScriptsDir, name), "utf8")]),
  );
}

/** jq, copied into the scripts' image: they read the admin API's JSON with it. */
export const jqPackage: ToolPackage = { name: "jq", image: images.jq, files: { "/jq": "bin/jq" } };

/** The image the store's scripts run in: bash and curl (with SigV4 signing) on Debian. */
export const scriptImage = images.curlBase;
