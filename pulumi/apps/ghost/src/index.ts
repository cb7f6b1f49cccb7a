export * from "./config";
export * from "./ghost";
