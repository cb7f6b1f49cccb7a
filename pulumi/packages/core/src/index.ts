export * from "./config";
export * from "./validators";
export * from "./versions";
export * from "./yaml-documents";
