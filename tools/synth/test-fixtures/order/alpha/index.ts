import * as pulumi from "@pulumi/pulumi";

// Reads mid and zeta through raw StackReferences; first in alphabetical order, last to run.
const mid = new pulumi.StackReference(`organization/mid/${pulumi.getStack()}`);
const zeta = new pulumi.StackReference(`organization/zeta/${pulumi.getStack()}`);

export const shout = mid.requireOutput("message").apply((message) => String(message).toUpperCase());
// Re-exported as is: still a secret.
export const token = zeta.requireOutput("token");
// Proof that alpha received the secret's value, without exposing it.
export const tokenLength = pulumi.unsecret(token.apply((value) => String(value).length));
