import { type TailnetPolicyArgs, tailnetPolicy } from "@infra/tailscale";
import { type HeadscalePolicy, headscalePolicySchema } from "./policy-schema";

/** A grant of the Tailscale document: sources reach destinations on `ip` (`proto:port`, or `*`). */
interface Grant {
  src: string[];
  dst: string[];
  ip: string[];
}

/** The sections of `tailnetPolicy()`'s document. */
interface TailscaleDocument {
  groups: Record<string, string[]>;
  tagOwners: Record<string, string[]>;
  autoApprovers: { routes: Record<string, string[]>; exitNode?: string[] };
  grants: Grant[];
}

/**
 * One grant as ACL rules: an ACL has one protocol, so the grant's ports are grouped by protocol
 * (`tcp:80`, `tcp:443` → one rule `proto: tcp`, `dst: ["<route>:80,443"]`), and `*` (every
 * protocol and port) becomes a rule without `proto` to `<dst>:*`.
 */
function grantToAcls(grant: Grant): NonNullable<HeadscalePolicy["acls"]> {
  if (grant.ip.includes("*")) {
    return [{ action: "accept", src: grant.src, dst: grant.dst.map((target) => `${target}:*`) }];
  }
  const portsByProtocol = new Map<string, string[]>();
  for (const entry of grant.ip) {
    const match = /^([a-z]+):(\d+)$/.exec(entry);
    if (!match) throw new Error(`Headscale policy: grant ip "${entry}" is not <protocol>:<port> or *`);
    const [, protocol, port] = match as unknown as [string, string, string];
    portsByProtocol.set(protocol, [...(portsByProtocol.get(protocol) ?? []), port]);
  }
  return [...portsByProtocol].map(([proto, ports]) => ({
    action: "accept" as const,
    src: grant.src,
    proto,
    dst: grant.dst.map((target) => `${target}:${ports.join(",")}`),
  }));
}

/**
 * The tailnet policy for Headscale, from the document `tailnetPolicy()` renders for Tailscale (so
 * both say the same): groups, tagOwners and autoApprovers as they are, and the grants as the
 * `acls` every Headscale release reads (grants only came with 0.29; the pinned 0.28 refuses
 * them). The result is checked against Headscale's format (`headscalePolicySchema`), so what
 * Headscale would refuse at start, such as a Tailscale-only tag owner `autogroup:admin`, fails here.
 */
export function headscalePolicy(args: TailnetPolicyArgs): HeadscalePolicy {
  const document = tailnetPolicy(args) as unknown as TailscaleDocument;
  const policy = {
    groups: document.groups,
    tagOwners: document.tagOwners,
    autoApprovers: document.autoApprovers,
    acls: document.grants.flatMap(grantToAcls),
  };
  const parsed = headscalePolicySchema.safeParse(policy);
  if (!parsed.success) {
    throw new Error(
      `The tailnet policy is not one Headscale accepts:\n${parsed.error.issues
        .map((issue) => `  ${issue.path.join(".")}: ${issue.message}`)
        .join("\n")}`,
    );
  }
  return parsed.data;
}
