import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resticScriptsDir } from "./restic-sandbox";

/**
 * The variable names the scripts' README documents (their interface): the backticked names in the
 * first cell of its tables' rows.
 */
export function documentedVariables(): Set<string> {
  const readme = readFileSync(join(resticScriptsDir, "README.md"), "utf8");
  const firstCells = [...readme.matchAll(/^\| ([^|]+) \|/gm)].map((match) => match[1] as string);
  return new Set(
    firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((name) => name[1] as string)),
  );
}
