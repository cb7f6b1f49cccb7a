import * as pulumi from "@pulumi/pulumi";

// a reads b, and b reads a: no order can satisfy both.
const b = new pulumi.StackReference(`organization/b/${pulumi.getStack()}`);

export const fromB = b.requireOutput("fromA");
export const fromA = "a";
