import { domainName, email, externalHost, port, storageConfig } from "@infra/core";
import { z } from "zod";

/** Vaultwarden's project config (`vaultwarden:<key>`). */
export const vaultwardenConfig = z.object({
  /** Its DNS name; `vault.<domain>` by default. */
  hostname: domainName.optional(),
  /** The `/data` volume (RSA keys, attachments, sends). */
  storage: storageConfig("2Gi"),
  /** Whether anyone who reaches it may create an account; invite people from the admin page otherwise. */
  signupsAllowed: z.boolean().default(false),
  /** Mail (invitations, two-step login codes); the password is the secret `vaultwarden:smtpPassword`. */
  smtp: z
    .strictObject({
      host: externalHost,
      port: port.default(587),
      security: z.enum(["starttls", "force_tls", "off"]).default("starttls"),
      from: email,
      username: z.string().min(1).optional(),
    })
    .optional(),
  /**
   * Mobile push notifications through Bitwarden's relay; the id and key come from
   * https://bitwarden.com/host (the key is the secret `vaultwarden:pushInstallationKey`).
   */
  push: z
    .strictObject({
      installationId: z.uuid({ error: "expected the installation id (a UUID) from bitwarden.com/host" }),
      /** The region the id was requested for: `us` (bitwarden.com) or `eu` (bitwarden.eu). */
      region: z.enum(["us", "eu"]).default("us"),
    })
    .optional(),
  /**
   * Website icons. `off`: none are fetched. `internal`: vaultwarden downloads them, so it may reach
   * any web server. `bitwarden`, `duckduckgo`, `google`: clients are redirected there, vaultwarden
   * fetches nothing.
   */
  icons: z.enum(["off", "internal", "bitwarden", "duckduckgo", "google"]).default("off"),
});

/** Secrets of the project config, each set with `pulumi config set --secret`. */
export const vaultwardenSecretKeys = ["smtpPassword", "pushInstallationKey"] as const;

export type VaultwardenSettings = z.output<typeof vaultwardenConfig>;
export type VaultwardenSecretKey = (typeof vaultwardenSecretKeys)[number];
