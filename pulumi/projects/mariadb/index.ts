import { readConfig } from "@infra/core";
import { createDatabaseServer, serverStorageConfig } from "@infra/databases";
import { getBackupConfig, getKubernetesProvider, getSharedEnvironment } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";

const storage = readConfig("storage", serverStorageConfig);

const database = createDatabaseServer({
  kind: "mariadb",
  // The stack is named after its server.
  serverName: pulumi.getStack(),
  provider: getKubernetesProvider(),
  storageSize: storage.size,
  ...(storage.className ? { storageClassName: storage.className } : {}),
  backup: getBackupConfig(),
  kubeContext: getSharedEnvironment().server.apply((server) => server.kubeContext),
});

/** What an app needs to get its own database (`createMariadbDatabase`); never the admin password. */
export const server = database.info;
/** The apps this project backs up, with schedule and repository (`task backup:status`). */
export const backups = [database.backups.entry];
