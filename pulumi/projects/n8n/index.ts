import { createN8n, n8nConfig } from "@apps/n8n";
import { readAppConfig, whenPlaced } from "@projects/common";

// Only on the server pulumi/placement.yaml gives it; elsewhere nothing (an up there removes it).
const n8n = whenPlaced(() => createN8n(readAppConfig(n8nConfig)));

/** Where the tailnet reaches the editor. */
export const url = n8n?.url;
/** Where n8n tells callers its webhooks and forms are (the public hostname when it is on). */
export const webhookUrl = n8n?.webhookUrl;
/** Its backups (volume and database, one repository), for `task backup:status`. */
export const backups = n8n?.backups;
