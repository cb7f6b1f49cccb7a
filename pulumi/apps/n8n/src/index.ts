export * from "./config";
export * from "./n8n";
export * from "./secrets";
