export * from "./app";
export * from "./config";
export * from "./job";
export * from "./placement";
export * from "./reach";
export * from "./service";
export * from "./stable-secrets";
