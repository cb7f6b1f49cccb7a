export * from "./config";
export * from "./validators";
export * from "./versions";
