import { z } from "zod";
import { quantityBytes } from "./quantity";

const octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const ipv4Pattern = new RegExp(`^${octet}(\\.${octet}){3}$`);

// Each validator gives the same message for a missing or mistyped value as for a malformed one,
// so a config error always says what is expected.

const ipv4Expected = "expected an IPv4 address such as 192.0.2.10";

/** What is wrong with a dotted-quad address, in words; undefined when nothing is. */
function addressProblem(address: string): string | undefined {
  const parts = address.split(".");
  if (parts.length !== 4)
    return `${address} has ${parts.length} octet${parts.length === 1 ? "" : "s"}, not 4`;
  for (const part of parts) {
    if (!/^\d+$/.test(part)) return `"${part}" in ${address} is not a number`;
    if (part.length > 1 && part.startsWith("0")) return `octet ${part} of ${address} has a leading zero`;
    if (Number(part) > 255) return `octet ${part} of ${address} is out of range (0-255)`;
  }
  return undefined;
}

/** A string check whose message says what is expected and, for a string, what is wrong with it. */
function checked(expected: string, problem: (value: string) => string | undefined) {
  return z.string({ error: expected }).superRefine((value, context) => {
    const found = problem(value);
    if (found !== undefined)
      context.addIssue({ code: "custom", message: found ? `${expected}: ${found}` : expected });
  });
}

/** An IPv4 address such as 192.0.2.10. */
export const ipv4 = checked(ipv4Expected, (value) =>
  ipv4Pattern.test(value) ? undefined : (addressProblem(value) ?? ""),
);

const ipv4CidrExpected =
  "expected an IPv4 network in CIDR form such as 10.42.0.0/16 (the address must be the network address)";

function cidrProblem(value: string): string | undefined {
  const match = /^([^/]*)\/(.*)$/.exec(value);
  if (!match) return `${value} has no prefix length (such as /16)`;
  const [, address = "", bits = ""] = match;
  const bad = addressProblem(address);
  if (bad) return bad;
  if (!/^\d{1,2}$/.test(bits) || Number(bits) > 32) return `prefix length /${bits} is out of range (0-32)`;
  const size = 2 ** (32 - Number(bits));
  const number = toNumber(address);
  if (number % size !== 0)
    return `${address} is not the first address of a /${bits} (that is ${toAddress(number - (number % size))})`;
  return undefined;
}

/** An IPv4 CIDR whose address is the network address, such as 10.42.0.0/16. */
export const ipv4Cidr = checked(ipv4CidrExpected, cidrProblem);

const domainNameExpected = "expected a lower-case DNS name such as example.com";
/** A DNS name such as example.com (lower case, at least two labels). */
export const domainName = z
  .string({ error: domainNameExpected })
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: domainNameExpected });

const dnsLabelExpected = "expected a DNS label such as cloud-a (lower case letters, digits and dashes)";
/** A DNS label such as cloud-a: lower case letters, digits and dashes. */
export const dnsLabel = z
  .string({ error: dnsLabelExpected })
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: dnsLabelExpected });

const externalHostExpected =
  "expected a DNS name (smtp.example.com), a pattern (*.example.com), an IPv4 address or an IPv4 CIDR";
/** A host outside the cluster that a policy may let pods reach: a DNS name, `*.` pattern, IPv4 address or CIDR. */
export const externalHost = z
  .string({ error: externalHostExpected })
  .refine(
    (value) =>
      domainName.safeParse(value.replace(/^\*\./, "")).success ||
      ipv4.safeParse(value).success ||
      ipv4Cidr.safeParse(value).success,
    { error: externalHostExpected },
  );

const volumeSizeExpected = "expected a volume size, a Kubernetes quantity such as 10Gi or 20G";
/** A volume's size: any Kubernetes quantity of at least one byte (10Gi, 20G, 1.5Ti). */
export const volumeSize = checked(volumeSizeExpected, (value) => {
  const bytes = quantityBytes(value);
  if (bytes === undefined)
    return `${value} is not a quantity (a number and a suffix: Ki, Mi, Gi, Ti, k, M, G, T)`;
  return bytes >= 1 ? undefined : `${value} is less than one byte`;
});

/** A volume's `size` and storage class, as a project's `storage` config sets them. */
export function storageConfig(defaultSize: string) {
  return z
    .strictObject({
      size: volumeSize.default(defaultSize),
      /** The storage class; the cluster's default (k3s: local-path) when omitted. */
      className: z.string().min(1).optional(),
    })
    .default({ size: defaultSize });
}

/** An e-mail address. */
export const email = z.email({ error: "expected an e-mail address such as admin@example.com" });

/** A TCP/UDP port. */
export const port = z.number().int().min(1).max(65535);

function toNumber(address: string): number {
  return address.split(".").reduce((value, part) => value * 256 + Number(part), 0);
}

/** The address range of an IPv4 CIDR as [first, last] numbers. */
export function cidrRange(cidr: string): [number, number] {
  const [address = "", bits = ""] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const first = toNumber(address);
  return [first, first + size - 1];
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Whether two IPv4 CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const [aFirst, aLast] = cidrRange(a);
  const [bFirst, bLast] = cidrRange(b);
  return aFirst <= bLast && bFirst <= aLast;
}

/** Whether an IPv4 address lies inside a CIDR. */
export function cidrContains(cidr: string, address: string): boolean {
  const [first, last] = cidrRange(cidr);
  const value = toNumber(address);
  return value >= first && value <= last;
}
