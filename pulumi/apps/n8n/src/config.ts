import { domainName, storageConfig } from "@infra/core";
import { appEgressConfig } from "@projects/common";
import { z } from "zod";

const timeZoneExpected = "expected an IANA time zone such as Europe/Berlin or UTC";

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** n8n's project config (`n8n:<key>`). */
export const n8nConfig = z.object({
  /** The editor's DNS name, reached from the tailnet only; `n8n.<domain>` by default. */
  hostname: domainName.optional(),
  /** The `/home/node/.n8n` volume (settings file, installed community nodes). */
  storage: storageConfig("1Gi"),
  /**
   * The time zone of Schedule triggers and of dates in workflows (n8n's own default is
   * America/New_York).
   */
  timezone: z
    .string({ error: timeZoneExpected })
    .refine(isTimeZone, { error: timeZoneExpected })
    .default("UTC"),
  /**
   * Production webhooks and forms on the internet, through Cloudflare, on a hostname of their own
   * (`n8n-hooks.<domain>` by default): the editor's name stays a tailnet address.
   */
  publicWebhooks: z
    .strictObject({
      enabled: z.boolean().default(false),
      hostname: domainName.optional(),
      /**
       * Also `/webhook-test/` and `/form-test/`, which answer only while someone in the editor
       * listens for a test event; without them, test from the tailnet on the editor's name.
       */
      testPaths: z.boolean().default(false),
    })
    .default({ enabled: false, testPaths: false }),
  /**
   * What workflows may reach outside the cluster (`appEgressConfig`).
   */
  egress: appEgressConfig,
});

export type N8nSettings = z.output<typeof n8nConfig>;
