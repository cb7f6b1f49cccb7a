import { z } from "zod";

const octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const ipv4Pattern = new RegExp(`^${octet}(\\.${octet}){3}$`);

// Each validator gives the same message for a missing or mistyped value as for a malformed one,
// so a config error always says what is expected.

const ipv4Expected = "expected an IPv4 address such as 192.0.2.10";
/** An IPv4 address such as 192.0.2.10. */
export const ipv4 = z.string({ error: ipv4Expected }).regex(ipv4Pattern, { error: ipv4Expected });

const ipv4CidrExpected =
  "expected an IPv4 network in CIDR form such as 10.42.0.0/16 (the address must be the network address)";
/** An IPv4 CIDR whose address is the network address, such as 10.42.0.0/16. */
export const ipv4Cidr = z
  .string({ error: ipv4CidrExpected })
  .refine(isNetworkCidr, { error: ipv4CidrExpected });

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

const volumeSizeExpected = "expected a volume size such as 10Gi";
/** A volume's size in Mi, Gi or Ti, such as 10Gi. */
export const volumeSize = z
  .string({ error: volumeSizeExpected })
  .regex(/^[1-9][0-9]*(Mi|Gi|Ti)$/, { error: volumeSizeExpected });

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

function isNetworkCidr(value: string): boolean {
  const match = /^(.+)\/(\d{1,2})$/.exec(value);
  if (!match?.[1] || !match[2] || !ipv4Pattern.test(match[1])) return false;
  const bits = Number(match[2]);
  if (bits > 32) return false;
  return toNumber(match[1]) % 2 ** (32 - bits) === 0;
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
