import { domainName, email, externalHost, port } from "@infra/core";
import { z } from "zod";

const userIdExpected =
  "expected an Ente user id (the `user_id` column of museum's users table), such as 1580559962386438";

/** A user id: digits, as a number or a string (ids reach 16 digits; a string keeps every one exact). */
const userId = z
  .union([z.number().int().positive().transform(String), z.string()])
  .pipe(z.string().regex(/^[1-9][0-9]{0,18}$/, { error: userIdExpected }));

/** Ente's project config (`ente:<key>`). */
export const enteConfig = z.object({
  /**
   * The DNS names of museum (the API the apps and the mobile and desktop clients are pointed at)
   * and of each web app, all reached from the tailnet only. Defaults: `ente-api`, `photos`,
   * `ente-accounts`, `ente-albums`, `ente-auth` and `ente-cast` under `<domain>`.
   */
  hostnames: z
    .strictObject({
      api: domainName.optional(),
      photos: domainName.optional(),
      accounts: domainName.optional(),
      albums: domainName.optional(),
      auth: domainName.optional(),
      cast: domainName.optional(),
    })
    .default({}),
  /**
   * Who may sign up (museum's `internal.disable-registration`; accounts that exist sign in
   * either way): `first-account` (the default) lets the first account sign up and closes sign-up
   * as soon as it exists (museum restarts with registration disabled, within about a minute);
   * `open` lets anyone in the tailnet sign up; `closed` lets no one.
   */
  registration: z.enum(["first-account", "open", "closed"]).default("first-account"),
  /**
   * The user ids with museum's admin rights (`internal.admins`: the admin API, `ente admin` in
   * Ente's CLI). Empty (the default): museum's own rule, the first account is the admin.
   */
  admins: z.array(userId).default([]),
  /**
   * Mail for sign-up and login codes (museum's `smtp.*`); without it, museum writes the codes to
   * its log. The password is the secret `ente:smtpPassword`. Museum may reach this host on this
   * port, and nothing else outside the cluster but the object store.
   */
  smtp: z
    .strictObject({
      host: externalHost,
      port: port.default(587),
      /** The sender's address. */
      from: email,
      username: z.string().min(1).optional(),
      /**
       * `true` for implicit TLS (port 465, museum's `encryption: tls`); `false` (the default)
       * upgrades with STARTTLS when the server offers it (Go's net/smtp).
       */
      implicitTls: z.boolean().default(false),
      senderName: z.string().min(1).optional(),
    })
    .optional(),
});

/** Secrets of the project config, each set with `pulumi config set --secret`. */
export const enteSecretKeys = ["smtpPassword"] as const;

export type EnteSettings = z.output<typeof enteConfig>;
export type EnteSecretKey = (typeof enteSecretKeys)[number];
