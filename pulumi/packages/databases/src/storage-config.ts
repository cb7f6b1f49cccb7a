import { z } from "zod";

const sizeExpected = "expected a volume size such as 10Gi";

/** A database server's data volume, as its project's `storage` config sets it. */
export const serverStorageConfig = z
  .object({
    /** Its size. */
    size: z
      .string({ error: sizeExpected })
      .regex(/^[1-9][0-9]*(Mi|Gi|Ti)$/, { error: sizeExpected })
      .default("10Gi"),
    /** The storage class; the cluster's default (k3s: local-path) when omitted. */
    className: z.string().min(1).optional(),
  })
  .default({ size: "10Gi" });
