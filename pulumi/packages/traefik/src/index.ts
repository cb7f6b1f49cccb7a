export * from "./rbac";
export * from "./traefik";
