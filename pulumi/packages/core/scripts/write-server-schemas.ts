// Writes servers/*.schema.json from the descriptions' zod schemas: yarn workspace @infra/core servers:schema
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot, serverJsonSchemas, serversDir } from "../src";

for (const [file, text] of Object.entries(serverJsonSchemas())) {
  writeFileSync(join(repositoryRoot, serversDir, file), text);
  console.log(`wrote ${serversDir}/${file}`);
}
