import { dnsLabel, domainName, email, storageConfig } from "@infra/core";
import { appEgressConfig } from "@projects/common";
import { z } from "zod";

const usernameExpected = "expected a user name of lower-case letters, digits, '.', '_' and '-'";

/** Zitadel's project config (`zitadel:<key>`). */
export const zitadelConfig = z.object({
  /** Its public DNS name (the instance's ExternalDomain); `auth.<domain>` by default. */
  hostname: domainName.optional(),
  /** The volume that keeps the login UI's token (a few bytes). */
  storage: storageConfig("16Mi"),
  /**
   * The first instance's organization and its first human admin, created once by the setup step.
   * The organization's name is a DNS label: its login domain is `<organization>.<hostname>`.
   */
  firstInstance: z
    .strictObject({
      organization: dnsLabel.default("zitadel"),
      adminUsername: z
        .string({ error: usernameExpected })
        .regex(/^[a-z0-9][a-z0-9._-]*$/, { error: usernameExpected })
        .default("zitadel-admin"),
      /** The admin's e-mail address (verified); Zitadel derives one from the login name without it. */
      adminEmail: email.optional(),
    })
    .default({ organization: "zitadel", adminUsername: "zitadel-admin" }),
  /**
   * What Zitadel may reach outside the cluster (nothing by default): the SMTP server, identity
   * providers and action targets configured in its console (`appEgressConfig`).
   */
  egress: appEgressConfig,
});

export type ZitadelSettings = z.output<typeof zitadelConfig>;
