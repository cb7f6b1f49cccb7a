export * from "./wireguard-config";
