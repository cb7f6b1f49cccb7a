import { z } from "zod";

/*
 * Headscale's policy format (policy v2), written from its source: the `Policy`, `ACL`,
 * `AutoApproverPolicy` and alias types of hscontrol/policy/v2/types.go and their `validate()`,
 * for the release `images.headscale` pins (0.28), and docs/ref/policy.md. Headscale parses with
 * `RejectUnknownMembers`, so every object here is strict: a section Headscale does not know (a
 * Tailscale `grants`, `postures` or `ipsets`) fails, as it would fail Headscale's start.
 */

/** Autogroups Headscale knows (`autogroups` in types.go); autogroup:admin is not among them. */
const autogroups = [
  "autogroup:internet",
  "autogroup:member",
  "autogroup:nonroot",
  "autogroup:tagged",
  "autogroup:self",
];
/** Autogroups allowed as a source, and as a destination (`autogroupForSrc`, `autogroupForDst`). */
const sourceAutogroups = ["autogroup:member", "autogroup:tagged"];
const destinationAutogroups = [
  "autogroup:internet",
  "autogroup:member",
  "autogroup:tagged",
  "autogroup:self",
];
/** Protocol names `Protocol.validate()` accepts (besides numbers 1-255 without a leading zero). */
const protocolNames = [
  "icmp",
  "igmp",
  "ipv4",
  "ip-in-ip",
  "tcp",
  "egp",
  "igp",
  "udp",
  "gre",
  "esp",
  "ah",
  "sctp",
];
/** Protocols that have ports: with any other, a destination's ports must be `*`. */
const protocolsWithPorts = ["tcp", "udp", "sctp"];

type AliasKind = "wildcard" | "user" | "group" | "tag" | "autogroup" | "prefix" | "host";

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isPrefix(value: string): boolean {
  const [address, bits, ...rest] = value.split("/");
  if (rest.length > 0 || address === undefined) return false;
  if (ipv4.test(address)) return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= 32);
  // IPv6: hex groups and colons, at most one `::`.
  const v6 = /^[0-9a-f:]+$/i.test(address) && address.includes(":") && address.split("::").length <= 2;
  return v6 && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= 128));
}

/** How Headscale reads an alias (`parseAlias`): the first form that matches wins. */
export function aliasKind(alias: string): AliasKind {
  if (alias === "*") return "wildcard";
  if (alias.startsWith("group:")) return "group";
  if (alias.startsWith("tag:")) return "tag";
  if (alias.startsWith("autogroup:")) return "autogroup";
  // Usernames must contain an @ (`alice@`, or an e-mail address): ErrUsernameMissingAt.
  if (alias.includes("@")) return "user";
  if (isPrefix(alias)) return "prefix";
  return "host";
}

const hostname = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** A port list of a destination: `*`, or ports and ranges separated by commas. */
function validPorts(ports: string): boolean {
  if (ports === "*") return true;
  return ports.split(",").every((part) => {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return false;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    return first <= last && last <= 65535;
  });
}

/** `alias:ports` (`AliasWithPorts`), the port list after the last colon. */
export function splitDestination(destination: string): { alias: string; ports: string } | undefined {
  const colon = destination.lastIndexOf(":");
  if (colon <= 0) return undefined;
  return { alias: destination.slice(0, colon), ports: destination.slice(colon + 1) };
}

const username = z.string().refine((value) => aliasKind(value) === "user", {
  error: "a username must contain @ (`alice@`, or an e-mail address)",
});
const group = z.string().startsWith("group:", { error: "a group must start with group:" });
const tag = z.string().startsWith("tag:", { error: "a tag must start with tag:" });
/** Tag owners and auto-approvers: users, groups or tags (`CanBeTagOwner`, `CanBeAutoApprover`). */
const owner = z.string().refine((value) => ["user", "group", "tag"].includes(aliasKind(value)), {
  error: "expected a user (with @), a group: or a tag:",
});
const prefix = z.string().refine(isPrefix, { error: "expected an IP address or prefix" });

const source = z.string().superRefine((value, context) => {
  const kind = aliasKind(value);
  if (kind === "autogroup" && !sourceAutogroups.includes(value)) {
    context.addIssue({
      code: "custom",
      message: `${value} cannot be a source (only ${sourceAutogroups.join(", ")})`,
    });
  }
  if (kind === "host" && !hostname.test(value))
    context.addIssue({ code: "custom", message: `invalid alias ${value}` });
});

const destination = z.string().superRefine((value, context) => {
  const parts = splitDestination(value);
  if (!parts) {
    context.addIssue({ code: "custom", message: `destination ${value} has no ports (alias:ports)` });
    return;
  }
  if (!validPorts(parts.ports)) context.addIssue({ code: "custom", message: `invalid ports in ${value}` });
  const kind = aliasKind(parts.alias);
  if (kind === "autogroup" && !destinationAutogroups.includes(parts.alias)) {
    context.addIssue({ code: "custom", message: `${parts.alias} cannot be a destination` });
  }
  if (kind === "host" && !hostname.test(parts.alias)) {
    context.addIssue({ code: "custom", message: `invalid alias ${parts.alias}` });
  }
});

const protocol = z
  .string()
  .refine(
    (value) => protocolNames.includes(value) || (/^[1-9]\d{0,2}$/.test(value) && Number(value) <= 255),
    {
      error: "expected a protocol name (tcp, udp, icmp...) or number 1-255; `*` is refused",
    },
  );

const acl = z.strictObject({
  action: z.literal("accept", { error: "the only ACL action is accept" }),
  proto: protocol.optional(),
  src: z.array(source),
  dst: z.array(destination),
});

const ssh = z.strictObject({
  action: z.enum(["accept", "check"]),
  src: z.array(z.string()),
  dst: z.array(z.string()),
  users: z.array(z.string()),
  checkPeriod: z.string().optional(),
});

const policyObject = z.strictObject({
  groups: z.record(group, z.array(username)).optional(),
  hosts: z.record(z.string().regex(hostname), prefix).optional(),
  tagOwners: z.record(tag, z.array(owner)).optional(),
  acls: z.array(acl).optional(),
  autoApprovers: z
    .strictObject({
      routes: z.record(prefix, z.array(owner)).optional(),
      exitNode: z.array(owner).optional(),
    })
    .optional(),
  ssh: z.array(ssh).optional(),
});

export type HeadscalePolicy = z.infer<typeof policyObject>;

/** Names every reference of the policy must find: groups, tags and hosts it defines. */
function checkReferences(policy: HeadscalePolicy, context: z.RefinementCtx): void {
  const groups = new Set(Object.keys(policy.groups ?? {}));
  const tags = new Set(Object.keys(policy.tagOwners ?? {}));
  const hosts = new Set(Object.keys(policy.hosts ?? {}));
  const check = (alias: string, where: string) => {
    const kind = aliasKind(alias);
    if (kind === "autogroup" && !autogroups.includes(alias)) {
      context.addIssue({ code: "custom", message: `${where}: Headscale knows no ${alias}`, path: [where] });
    }
    if (kind === "group" && !groups.has(alias)) {
      context.addIssue({
        code: "custom",
        message: `${where}: group ${alias} is not defined in groups`,
        path: [where],
      });
    }
    if (kind === "tag" && !tags.has(alias)) {
      context.addIssue({
        code: "custom",
        message: `${where}: tag ${alias} is not defined in tagOwners`,
        path: [where],
      });
    }
    if (kind === "host" && !hosts.has(alias)) {
      context.addIssue({
        code: "custom",
        message: `${where}: host ${alias} is not defined in hosts`,
        path: [where],
      });
    }
  };
  for (const rule of policy.acls ?? []) {
    for (const alias of rule.src) check(alias, "acls.src");
    for (const target of rule.dst) {
      const parts = splitDestination(target);
      if (!parts) continue;
      check(parts.alias, "acls.dst");
      if (rule.proto && !protocolsWithPorts.includes(rule.proto) && parts.ports !== "*") {
        context.addIssue({
          code: "custom",
          message: `acls.dst: protocol ${rule.proto} has no ports, so ${target} must end in :*`,
          path: ["acls"],
        });
      }
    }
  }
  for (const owners of Object.values(policy.tagOwners ?? {}))
    for (const alias of owners) check(alias, "tagOwners");
  for (const approvers of Object.values(policy.autoApprovers?.routes ?? {})) {
    for (const alias of approvers) check(alias, "autoApprovers.routes");
  }
  for (const alias of policy.autoApprovers?.exitNode ?? []) check(alias, "autoApprovers.exitNode");
}

/** The policy document Headscale accepts, with every reference defined (`Policy.validate()`). */
export const headscalePolicySchema = policyObject.superRefine(checkReferences);
