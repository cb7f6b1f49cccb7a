export * from "./hosts";
export * from "./policy";
export * from "./presets";
export * from "./rules";
