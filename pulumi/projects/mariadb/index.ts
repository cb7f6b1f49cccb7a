import { readConfig } from "@infra/core";
import { createDatabaseServer, serverBackupIdentity, serverStorageConfig } from "@infra/databases";
import {
  getBackupConfig,
  getKubernetesProvider,
  getSharedEnvironment,
  readServerBackupCredentials,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";

const storage = readConfig("storage", serverStorageConfig);
// The stack is named after its server.
const serverName = pulumi.getStack();

const database = createDatabaseServer({
  kind: "mariadb",
  serverName,
  provider: getKubernetesProvider(),
  storageSize: storage.size,
  ...(storage.className ? { storageClassName: storage.className } : {}),
  // The server's own repository opens with its own password and storage key
  // (secrets/backups/mariadb-<server>.yaml), not an app's.
  backup: getBackupConfig(readServerBackupCredentials(serverBackupIdentity("mariadb", serverName))),
  kubeContext: getSharedEnvironment().server.apply((server) => server.kubeContext),
});

/** What an app needs to get its own database (`createMariadbDatabase`); never the admin password. */
export const server = database.info;
/** What this project backs up: schedule, repository, retention, password file (`task backup:status`, `task backup:prune`). */
export const backups = [database.backups.entry];
