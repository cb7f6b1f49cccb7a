export * from "./crds";
