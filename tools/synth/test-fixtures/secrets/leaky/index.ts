import * as pulumi from "@pulumi/pulumi";

// Reads a secure value without requireSecret and exports it in plain text: synth's final scan
// must catch the leak.
export const leaked = new pulumi.Config().require("apiKey");
