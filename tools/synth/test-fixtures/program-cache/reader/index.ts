import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";

// Reads its data through fs, and the environment: a program's inputs beside its config.
const dataDir = join(__dirname, "data");
const data: Record<string, string> = {};
for (const file of readdirSync(dataDir).sort()) {
  Object.assign(data, JSON.parse(readFileSync(join(dataDir, file), "utf8")));
}
const provider = new k8s.Provider("lab", { context: "lab" });

new k8s.core.v1.ConfigMap(
  "reader",
  {
    metadata: { name: "reader", namespace: "default" },
    data: {
      ...data,
      note: process.env.HOMELAB_FIXTURE_NOTE ?? "none",
      override: String(existsSync(join(__dirname, "override.json"))),
    },
  },
  { provider },
);
