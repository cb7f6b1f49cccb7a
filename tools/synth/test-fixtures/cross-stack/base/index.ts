import * as pulumi from "@pulumi/pulumi";

// Each server's base layer: the names project of its stack reads it.
export const server = pulumi.getStack();
