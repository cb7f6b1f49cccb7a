import {
  dnsLabel,
  ipv4Cidr,
  type ProviderKind,
  providerKinds,
  type Server,
  type ServerDescription,
  serverSchema,
} from "@infra/core";
import type { z } from "zod";
import type { Ask } from "./ask";
import { overlapOf, pickFreeCidr, type TakenRange, takenRanges } from "./cidrs";

/** A value given on the command line that is wrong; the message names the flag. */
export class UsageError extends Error {}

/** One field of a provider: the flag that sets it and, when it has one, its default. */
export interface ProviderField {
  key: string;
  /** The flag's name without dashes; commander's option key is its camelCase. */
  flag: string;
  type: "text" | "number" | "boolean";
  default?: string | number | boolean;
  /** The question for a field whose schema has no description. */
  message?: string;
}

/** Every provider's fields, in the order they are asked (the schema in @infra/core says what each must be). */
export const providerFields: Record<ProviderKind, ProviderField[]> = {
  hcloud: [
    { key: "serverType", flag: "server-type", type: "text" },
    { key: "location", flag: "location", type: "text" },
  ],
  digitalocean: [
    { key: "size", flag: "size", type: "text" },
    { key: "region", flag: "region", type: "text" },
  ],
  proxmox: [
    { key: "endpoint", flag: "proxmox-endpoint", type: "text" },
    // Off unless asked for: accepting any certificate is the user's choice to make.
    { key: "insecure", flag: "proxmox-insecure", type: "boolean", default: false },
    { key: "node", flag: "node", type: "text" },
    { key: "datastore", flag: "datastore", type: "text" },
    { key: "bridge", flag: "bridge", type: "text" },
    { key: "macAddress", flag: "mac-address", type: "text" },
    { key: "ipAddress", flag: "ip-address", type: "text" },
  ],
  existing: [
    { key: "internalIp", flag: "internal-ip", type: "text" },
    { key: "publicIp", flag: "public-ip", type: "text" },
    { key: "sshHost", flag: "ssh-host", type: "text" },
    {
      key: "sshPort",
      flag: "ssh-port",
      type: "number",
      default: 22,
      message: "The SSH port of the install.",
    },
    {
      key: "sshUser",
      flag: "ssh-user",
      type: "text",
      message: "The SSH user of the install (root or one with sudo).",
    },
  ],
};

/** commander's key of a flag: `server-type` → `serverType`. */
export function optionKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** What the command line gave, by commander's option keys; strings except the booleans. */
export type Flags = Record<string, string | boolean | undefined>;

function providerSchema(kind: ProviderKind): z.ZodObject {
  const option = serverSchema.shape.provider.options.find((candidate) => candidate.shape.kind.value === kind);
  if (!option) throw new Error(`no provider schema for ${kind}`);
  return option;
}

/** The field's schema and question, from @infra/core's description of the field. */
export function fieldSchema(
  kind: ProviderKind,
  field: ProviderField,
): { schema: z.ZodType; message: string } {
  const schema = providerSchema(kind).shape[field.key] as z.ZodType | undefined;
  if (!schema) throw new Error(`${kind} has no field ${field.key}`);
  return { schema, message: schema.description ?? field.message ?? field.key };
}

function problemOf(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  return result.success ? undefined : result.error.issues.map((issue) => issue.message).join("; ");
}

function given(flags: Flags, flag: string): string | boolean | undefined {
  return flags[optionKey(flag)];
}

function checked<T>(flag: string, value: T, problem: string | undefined): T {
  if (problem) throw new UsageError(`--${flag} ${String(value)}: ${problem}`);
  return value;
}

/** The role a provider's machines usually have: rented ones are cloud servers, Proxmox VMs are at home. */
const usualRole: Partial<Record<ProviderKind, ServerDescription["role"]>> = {
  hcloud: "cloud",
  digitalocean: "cloud",
  proxmox: "home",
};

async function askKind(flags: Flags, ask: Ask): Promise<ProviderKind> {
  const kindFlag = given(flags, "provider");
  const kind =
    kindFlag === undefined
      ? await ask.choose({
          flag: "--provider",
          message: "Where does the machine come from?",
          choices: providerKinds,
        })
      : checked(
          "provider",
          String(kindFlag) as ProviderKind,
          providerKinds.includes(kindFlag as ProviderKind)
            ? undefined
            : `expected one of ${providerKinds.join(", ")}`,
        );
  // Before any question: a flag of another provider is a mistake the user should see at once.
  for (const [other, fields] of Object.entries(providerFields)) {
    if (other === kind) continue;
    for (const field of fields) {
      if (providerFields[kind].some((own) => own.flag === field.flag)) continue;
      if (given(flags, field.flag) !== undefined)
        throw new UsageError(`--${field.flag} is for ${other} servers, not ${kind}`);
    }
  }
  return kind;
}

async function askProvider(
  kind: ProviderKind,
  flags: Flags,
  ask: Ask,
): Promise<ServerDescription["provider"]> {
  const provider: Record<string, unknown> = { kind };
  for (const field of providerFields[kind]) {
    const { schema, message } = fieldSchema(kind, field);
    const flag = `--${field.flag}`;
    const value = given(flags, field.flag);
    if (field.type === "boolean") {
      provider[field.key] =
        value ??
        (await ask.confirm({
          flag,
          message,
          ...(field.default === undefined ? {} : { default: field.default as boolean }),
        }));
    } else if (field.type === "number") {
      const parse = (text: string) => (/^\d+$/.test(text) ? Number(text) : Number.NaN);
      provider[field.key] =
        value === undefined
          ? parse(
              await ask.text({
                flag,
                message,
                ...(field.default === undefined ? {} : { default: String(field.default) }),
                check: (text) => problemOf(schema, parse(text)),
              }),
            )
          : checked(field.flag, parse(String(value)), problemOf(schema, parse(String(value))));
    } else {
      provider[field.key] =
        value === undefined
          ? await ask.text({ flag, message, check: (text) => problemOf(schema, text) })
          : checked(field.flag, String(value), problemOf(schema, String(value)));
    }
  }
  return provider as ServerDescription["provider"];
}

function ownAddresses(name: string, provider: ServerDescription["provider"]): TakenRange[] {
  const addresses =
    provider.kind === "proxmox"
      ? [provider.ipAddress]
      : provider.kind === "existing"
        ? [provider.internalIp, provider.publicIp]
        : [];
  return addresses.map((address) => ({ cidr: `${address}/32`, owner: `${name}'s own address ${address}` }));
}

async function askCidr(
  flags: Flags,
  ask: Ask,
  flag: string,
  message: string,
  taken: TakenRange[],
): Promise<string> {
  const check = (cidr: string): string | undefined => {
    const problem = problemOf(ipv4Cidr, cidr);
    if (problem) return problem;
    const overlap = overlapOf(cidr, taken);
    return overlap ? `overlaps ${overlap.owner}, ${overlap.cidr}` : undefined;
  };
  const value = given(flags, flag);
  if (value !== undefined) return checked(flag, String(value), check(String(value)));
  return ask.text({ flag: `--${flag}`, message, default: pickFreeCidr(taken), check });
}

/**
 * The new server's description, from the flags and, for what they leave out, `ask`. Every given
 * value is checked here; the whole description is checked again by the caller with the schema.
 */
export async function describeServer(
  name: string,
  flags: Flags,
  servers: readonly Server[],
  ask: Ask,
): Promise<ServerDescription> {
  const kind = await askKind(flags, ask);
  const roleFlag = given(flags, "role");
  const roles = serverSchema.shape.role.options;
  const role =
    roleFlag === undefined
      ? await ask.choose({
          flag: "--role",
          message: "Its role (cloud: rented, with a public address; home: at home, reached over the tailnet)",
          choices: roles,
          ...(usualRole[kind] ? { default: usualRole[kind] } : {}),
        })
      : checked(
          "role",
          String(roleFlag) as ServerDescription["role"],
          roles.includes(roleFlag as never) ? undefined : `expected one of ${roles.join(", ")}`,
        );
  const publicFlag = given(flags, "public");
  const reachableFromInternet =
    publicFlag === undefined
      ? await ask.confirm({
          flag: "--public/--no-public",
          message: "Does its public address serve the public gateway (80/443 from Cloudflare)?",
          default: role === "cloud",
        })
      : publicFlag === true;
  const provider = await askProvider(kind, flags, ask);
  const taken = [...takenRanges(servers), ...ownAddresses(name, provider)];
  const clusterCidr = await askCidr(
    flags,
    ask,
    "cluster-cidr",
    "Its pod range (a free /16 is offered)",
    taken,
  );
  const serviceCidr = await askCidr(flags, ask, "service-cidr", "Its service range (a free /16 is offered)", [
    ...taken,
    { cidr: clusterCidr, owner: "its own clusterCidr" },
  ]);
  const kubeContext = given(flags, "kube-context");
  return {
    $schema: "./server.schema.json",
    role,
    provider,
    reachableFromInternet,
    network: { clusterCidr, serviceCidr },
    ...(kubeContext === undefined ? {} : { kubeContext: String(kubeContext) }),
  };
}

/** What is wrong with a name for a new server (not whether it is taken). */
export function nameProblem(name: string): string | undefined {
  if (name === "site") return 'servers/site.json is the site\'s description: "site" cannot name a server';
  return problemOf(dnsLabel, name);
}
