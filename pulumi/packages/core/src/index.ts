export * from "./config";
export * from "./placement";
export * from "./quantity";
export * from "./validators";
export * from "./versions";
export * from "./yaml-documents";
