import * as pulumi from "@pulumi/pulumi";

// The base layer, broken: its stack file lacks the config it requires.
export const server = new pulumi.Config().require("server");
