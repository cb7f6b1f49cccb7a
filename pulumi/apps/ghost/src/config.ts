import { domainName, email, externalHost, port, storageConfig } from "@infra/core";
import { z } from "zod";

/** Ghost's project config (`ghost:<key>`). */
export const ghostConfig = z.object({
  /** The blog's public DNS name; `blog.<domain>` by default. */
  hostname: domainName.optional(),
  /** `/var/lib/ghost/content` (images, files, media, themes, settings). */
  storage: storageConfig("5Gi"),
  /**
   * Where the admin (`/ghost/`) is reached. `private` (the default): only from the tailnet, on a
   * hostname of its own (`adminHostname`, `blog-admin.<domain>` by default) through the internal
   * gateway; the public route withholds `/ghost/` and redirects it there. `public`: on the blog's
   * own hostname, from the internet.
   */
  admin: z
    .strictObject({
      exposure: z.enum(["private", "public"]).default("private"),
      hostname: domainName.optional(),
    })
    .default({ exposure: "private" }),
  /** Mail (staff invitations, sign-in links, member emails); the password is the secret `ghost:smtpPassword`. */
  smtp: z
    .strictObject({
      host: externalHost,
      port: port.default(587),
      /** `true` for implicit TLS (port 465); `false` upgrades with STARTTLS. */
      secure: z.boolean().default(false),
      from: email,
      username: z.string().min(1).optional(),
    })
    .optional(),
});

/** Secrets of the project config, each set with `pulumi config set --secret`. */
export const ghostSecretKeys = ["smtpPassword"] as const;

export type GhostSettings = z.output<typeof ghostConfig>;
export type GhostSecretKey = (typeof ghostSecretKeys)[number];
