export * from "./bundle";
export * from "./environment";
export * from "./runner";
