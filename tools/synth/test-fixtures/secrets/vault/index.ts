import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

const config = new pulumi.Config();
const apiKey = config.requireSecret("apiKey");
const password = new random.RandomPassword("db", { length: 32, special: false });
const provider = new k8s.Provider("lab", { context: "lab" });

new k8s.core.v1.Secret(
  "credentials",
  {
    metadata: { name: "credentials", namespace: "default" },
    stringData: { apiKey, password: password.result, user: config.require("user") },
  },
  { provider },
);
// A Secret built without the typed class: its data is not wrapped as a Pulumi secret.
new k8s.apiextensions.CustomResource(
  "untyped",
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "untyped", namespace: "default" },
    data: { note: Buffer.from("untyped-secret-note").toString("base64") },
  },
  { provider },
);
// A ConfigMap is not secret, but a secret value put into it is.
new k8s.core.v1.ConfigMap(
  "settings",
  { metadata: { name: "settings", namespace: "default" }, data: { apiKey, mode: "strict" } },
  { provider },
);

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
// Proof that the program received the values, without exposing them.
export const apiKeyHash = pulumi.unsecret(apiKey.apply(sha256));
export const passwordHash = pulumi.unsecret(password.result.apply(sha256));
export const dbPassword = password.result;
