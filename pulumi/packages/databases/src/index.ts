export * from "./database";
export * from "./engines";
export * from "./hooks";
export * from "./server";
export * from "./storage-config";
export * from "./url";
