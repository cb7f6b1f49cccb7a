import * as pulumi from "@pulumi/pulumi";

// The base layer: referenced by mid and alpha, yet last in alphabetical order.
const config = new pulumi.Config();

export const greeting = config.require("greeting");
export const port = 8080;
// A secret export: it must stay secret in every project that reads it.
export const token = pulumi.secret("zeta-token-0123456789");
