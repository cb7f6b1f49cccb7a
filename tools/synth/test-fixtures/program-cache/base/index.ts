import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

// Referenced by app: its greeting reaches app's exports, its replicas stay its own.
const config = new pulumi.Config();
const provider = new k8s.Provider("lab", { context: "lab" });

new k8s.core.v1.ConfigMap(
  "base",
  { metadata: { name: "base", namespace: "default" }, data: { replicas: config.require("replicas") } },
  { provider },
);

export const greeting = config.require("greeting");
export const token = pulumi.secret("base-token-0123456789");
