export * from "./kubernetes";
export * from "./shared";
export * from "./stack-reference";
