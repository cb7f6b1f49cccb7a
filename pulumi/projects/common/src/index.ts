export * from "./exposure";
export * from "./kubernetes";
export * from "./providers";
export * from "./shared";
export * from "./stack-reference";
