export * from "./config";
export * from "./etebase";
export * from "./secrets";
