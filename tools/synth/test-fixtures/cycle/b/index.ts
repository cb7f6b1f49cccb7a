import * as pulumi from "@pulumi/pulumi";

const a = new pulumi.StackReference(`organization/a/${pulumi.getStack()}`);

export const fromA = a.requireOutput("fromB");
export const fromB = "b";
