export * from "./generate";
export * from "./spec";
