export * from "./config";
export * from "./drill";
export * from "./final-backup";
export * from "./jobs";
export * from "./pair";
export * from "./policy";
export * from "./repository";
export * from "./snapshot-status";
