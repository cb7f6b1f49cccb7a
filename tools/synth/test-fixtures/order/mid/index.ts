import { requireStackOutput } from "@projects/common";
import * as k8s from "@pulumi/kubernetes";

// Reads zeta through @projects/common and renders values derived from its exports.
const greeting = requireStackOutput<string>("zeta", "greeting");
const port = requireStackOutput<number>("zeta", "port");
const provider = new k8s.Provider("lab", { context: "lab" });

export const message = greeting.apply((text) => `${text} from mid`);

new k8s.core.v1.ConfigMap(
  "mid",
  { metadata: { name: "mid", namespace: "default" }, data: { message, port: port.apply(String) } },
  { provider },
);
