export * from "./bucket";
export * from "./garage-config";
export * from "./hooks";
export * from "./store";
