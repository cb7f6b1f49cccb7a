export * from "./files";
export * from "./generate";
export * from "./spec";
