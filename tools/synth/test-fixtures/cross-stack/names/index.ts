import * as pulumi from "@pulumi/pulumi";

// A server's own names, derived from its base layer (so it runs after it, on its own stack).
const base = new pulumi.StackReference(`organization/base/${pulumi.getStack()}`);
const config = new pulumi.Config();

export const names = base
  .requireOutput("server")
  .apply((server) => [`${config.require("label")}.${String(server)}.internal.example.com`]);
