import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { render } from "./render";

const config = new pulumi.Config();
const base = new pulumi.StackReference(`organization/base/${pulumi.getStack()}`);
const provider = new k8s.Provider("lab", { context: "lab" });

export const banner = base
  .requireOutput("greeting")
  .apply((greeting) => render(config.require("title"), String(greeting)));

// The secret reaches a resource's inputs still wrapped, as the SDK hands it to the mocks.
new k8s.core.v1.Secret(
  "app",
  { metadata: { name: "app", namespace: "default" }, stringData: { token: base.requireOutput("token") } },
  { provider },
);
new k8s.core.v1.ConfigMap(
  "app",
  { metadata: { name: "app", namespace: "default" }, data: { banner } },
  { provider },
);
