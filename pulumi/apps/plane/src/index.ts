export * from "./config";
export * from "./plane";
export * from "./secrets";
