export * from "./traefik";
