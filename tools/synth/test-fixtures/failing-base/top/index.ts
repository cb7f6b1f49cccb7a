import * as pulumi from "@pulumi/pulumi";

// Needs base only through left.
const left = new pulumi.StackReference(`organization/left/${pulumi.getStack()}`);

export const url = left.requireOutput("host").apply((host) => `https://${host}`);
