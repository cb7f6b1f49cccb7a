export * from "./config";
export * from "./config-keys";
export * from "./placement";
export * from "./quantity";
export * from "./servers";
export * from "./validators";
export * from "./versions";
export * from "./yaml-documents";
