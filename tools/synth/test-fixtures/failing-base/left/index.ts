import * as pulumi from "@pulumi/pulumi";

// Needs base directly.
const base = new pulumi.StackReference(`organization/base/${pulumi.getStack()}`);

export const host = base.requireOutput("server");
