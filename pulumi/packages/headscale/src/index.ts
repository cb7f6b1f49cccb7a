export * from "./config";
export * from "./extra-records";
export * from "./login";
export * from "./policy";
export * from "./policy-schema";
export * from "./preauth-key";
