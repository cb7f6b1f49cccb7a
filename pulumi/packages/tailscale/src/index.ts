export * from "./subnet-router";
export * from "./tailnet-policy";
