import { domainName, storageConfig } from "@infra/core";
import { z } from "zod";

const usernameExpected =
  "expected a username of letters, digits and @ . + - _ (at most 150 characters), such as admin";

/** Etebase's project config (`etebase:<key>`). */
export const etebaseConfig = z.object({
  /** Its DNS name, also its only `ALLOWED_HOSTS` entry; `etebase.<domain>` by default. */
  hostname: domainName.optional(),
  /** The `/data` volume: users' encrypted items (`media/`) and Django's `secret.txt`. */
  storage: storageConfig("5Gi"),
  /**
   * The Django superuser created on the app's first start (its password is generated, a stable
   * secret). It signs in to `/admin`, where the accounts the EteSync apps then sign up with are
   * created.
   */
  superuser: z
    .strictObject({
      /**
       * Django's username characters only: the image's entrypoint puts it, unescaped, in a quoted
       * Python string.
       * @default "admin"
       */
      username: z
        .string({ error: usernameExpected })
        .regex(/^[A-Za-z0-9@.+_-]{1,150}$/, { error: usernameExpected })
        .default("admin"),
    })
    .default({ username: "admin" }),
});

export type EtebaseSettings = z.output<typeof etebaseConfig>;
