import { storageConfig } from "@infra/core";

/** A database server's data volume, as its project's `storage` config sets it. */
export const serverStorageConfig = storageConfig("10Gi");
