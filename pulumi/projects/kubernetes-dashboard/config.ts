import { domainName } from "@infra/core";
import { z } from "zod";

/** Whether the login account may do anything (cluster-admin); read-only by default. */
export const adminConfig = z.boolean({ error: "expected true or false" }).default(false);

/** The dashboard's DNS name; `dashboard.<server>.<domain>` when unset. */
export const hostnameConfig = domainName.optional();
