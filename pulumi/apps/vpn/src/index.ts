export * from "./relay";
export * from "./wireguard-config";
