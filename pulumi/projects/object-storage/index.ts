import { domainName, readConfig, storageConfig } from "@infra/core";
import { createObjectStore, storeName } from "@infra/object-storage";
import {
  exposeInternalHttpService,
  getBackupConfig,
  getKubernetesProvider,
  getSharedEnvironment,
  readServerBackupCredentials,
  resolveHostname,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

const storage = readConfig("storage", storageConfig("50Gi"));
/** The S3 region the store answers as: any name; clients sign their requests with it. */
const region = readConfig(
  "region",
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, { error: "expected lower-case letters, digits and '-'" })
    .default("garage"),
);
const serverName = pulumi.getStack();
// A store of this server: its name carries the server's (apps on another server have their own).
const hostname = resolveHostname({
  label: "s3",
  scope: "server",
  gateway: "private",
  configured: readConfig("hostname", domainName.optional()),
});

const store = createObjectStore({
  serverName,
  provider: getKubernetesProvider(),
  storageSize: storage.size,
  ...(storage.className ? { storageClassName: storage.className } : {}),
  region,
  hostname,
  backup: getBackupConfig(readServerBackupCredentials(`${storeName}-${serverName}`)),
  kubeContext: getSharedEnvironment().server.apply((server) => server.kubeContext),
});

// Presigned URLs send browsers (and the apps themselves) here: the tailnet only, never the internet.
exposeInternalHttpService({ name: storeName, namespace: store.namespace, service: store.server, hostname });

/** What an app needs to get its own buckets and key on the store; never the admin token. */
export const server = store.info;
/** The S3 endpoint on the tailnet. */
export const endpoint = pulumi.interpolate`https://${hostname}`;
/** What it backs up: schedule, repository, retention, password file (`task backup:status`, `task backup:prune`). */
export const backups = [store.backups.entry];
