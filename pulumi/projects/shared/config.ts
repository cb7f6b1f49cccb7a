import { cidrsOverlap, dnsLabel, domainName, email, ipv4, ipv4Cidr, port } from "@infra/core";
import { z } from "zod";

/** Where the server's facts come from: its Terraform state, or config for a server made by hand. */
export const serverConfig = z
  .object({
    /** The kube context of the server's cluster; the stack's name by default. */
    kubeContext: z.string().min(1).optional(),
    /** Path (from this project) to the server's Terraform state file. */
    terraformState: z.string().min(1).optional(),
    /** Facts of a server not created by Terraform. */
    host: z
      .object({
        internalIp: ipv4,
        publicIp: ipv4,
        sshHost: z.string().min(1),
        sshPort: port.default(22),
        sshUser: z.string().min(1),
      })
      .optional(),
  })
  .refine((server) => (server.terraformState === undefined) !== (server.host === undefined), {
    error:
      "set exactly one of terraformState (a server created by Terraform) or host (a server made by hand)",
  });

export const networkConfig = z
  .object({
    /** Pod addresses; disjoint from every other server's so clusters can share a tailnet. */
    clusterCidr: ipv4Cidr,
    /** Service addresses; disjoint from every other server's. */
    serviceCidr: ipv4Cidr,
  })
  // Only ranges that are valid on their own are compared; a bad one is reported by its own rule.
  .refine(
    (network) =>
      !ipv4Cidr.safeParse(network.clusterCidr).success ||
      !ipv4Cidr.safeParse(network.serviceCidr).success ||
      !cidrsOverlap(network.clusterCidr, network.serviceCidr),
    {
      error: "clusterCidr and serviceCidr overlap",
    },
  );

export const acmeConfig = z.object({
  email,
  /** The ACME directory; Let's Encrypt's production directory by default. */
  server: z.url().default("https://acme-v02.api.letsencrypt.org/directory"),
});

export const tailnetName = z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*\.ts\.net$/, {
  error: "expected the tailnet's DNS name, such as example-tailnet.ts.net (admin console → DNS)",
});

export { dnsLabel, domainName };

export const cloudflareConfig = z.object({
  /** The Cloudflare zone id of the domain (dashboard → the domain → Overview → API). */
  zoneId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, { error: "expected the 32-character hex zone id of the domain" }),
});

export const tailscaleConfig = z.object({
  /** The OAuth client's id (admin console → Settings → OAuth clients; scopes: auth_keys, policy_file, devices). */
  oauthClientId: z.string().min(1),
  /**
   * Whether this stack owns the tailnet policy file. The policy is one document per tailnet:
   * exactly one stack manages it, listing every server's routes.
   */
  ownsTailnetPolicy: z.boolean().default(false),
});
