export * from "./config";
export * from "./ente";
export * from "./secrets";
