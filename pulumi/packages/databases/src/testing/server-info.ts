import type { DatabaseKind } from "../engines";
import type { DatabaseServerInfo } from "../server";

/** A database project's `server` export, as apps read it, for tests. */
export function exampleServerInfo(kind: DatabaseKind): DatabaseServerInfo {
  return {
    kind,
    host: `${kind}.${kind}.svc.cluster.local`,
    port: kind === "postgresql" ? 5432 : 3306,
    namespace: kind,
    adminUser: kind === "postgresql" ? "postgres" : "root",
    adminSecret: { name: `${kind}-admin`, key: "password" },
    podLabels: { "app.kubernetes.io/name": kind },
  };
}
