export * from "./auth-key";
export * from "./egress";
export * from "./login";
export * from "./subnet-router";
export * from "./tailnet-policy";
