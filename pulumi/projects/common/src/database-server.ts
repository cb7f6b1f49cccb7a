import { readConfig } from "@infra/core";
import {
  createDatabaseServer,
  type DatabaseKind,
  serverBackupIdentity,
  serverStorageConfig,
} from "@infra/databases";
import * as pulumi from "@pulumi/pulumi";
import { readServerBackupCredentials } from "./app/stable-secrets";
import { getBackupConfig } from "./backup";
import { getKubernetesProvider } from "./kubernetes";
import { getSharedEnvironment } from "./shared";

/**
 * The program of a database server project (`postgresql`, `mariadb`, `mysql`): the server of its
 * kind on the stack's server (the stack is named after it), its volume from `<project>:storage`,
 * backed up in its own repository, which opens with its own password and storage key
 * (`secrets/backups/<kind>-<server>.yaml`), never an app's.
 */
export function createDatabaseServerProject(kind: DatabaseKind) {
  const storage = readConfig("storage", serverStorageConfig);
  const serverName = pulumi.getStack();
  const database = createDatabaseServer({
    kind,
    serverName,
    provider: getKubernetesProvider(),
    storageSize: storage.size,
    ...(storage.className ? { storageClassName: storage.className } : {}),
    backup: getBackupConfig(readServerBackupCredentials(serverBackupIdentity(kind, serverName))),
    kubeContext: getSharedEnvironment().server.apply((server) => server.kubeContext),
  });
  return {
    /** What an app needs to get its own database on it; never the admin password. */
    server: database.info,
    /** What it backs up: schedule, repository, retention, password file (`task backup:status`, `task backup:prune`). */
    backups: [database.backups.entry],
  };
}
