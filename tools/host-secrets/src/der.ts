// Just enough DER (X.690) to write a self-signed X.509 v3 CA certificate (RFC 5280).
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let remaining = length; remaining > 0; remaining >>>= 8) bytes.unshift(remaining & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, Buffer.concat(items));
export const set = (...items: Uint8Array[]): Buffer => tlv(TAG.set, Buffer.concat(items));
export const octetString = (content: Uint8Array): Buffer => tlv(TAG.octetString, content);
export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, "utf8"));
export const booleanTrue = (): Buffer => tlv(TAG.boolean, Buffer.from([0xff]));
/** A context-specific, constructed (explicit) tag such as `[0]` or `[3]`. */
export const explicit = (tagNumber: number, content: Uint8Array): Buffer => tlv(0xa0 | tagNumber, content);

/** A non-negative INTEGER from its big-endian magnitude. */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const needsPadding = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return tlv(TAG.integer, needsPadding ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.from([value]));

/** A BIT STRING whose last `unusedBits` bits are padding. */
export const bitString = (content: Uint8Array, unusedBits = 0): Buffer =>
  tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), content]));

export function objectIdentifier(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let remaining = arc; ; remaining = Math.floor(remaining / 128)) {
      groups.unshift(remaining % 128);
      if (remaining < 128) break;
    }
    bytes.push(...groups.map((group, index) => (index < groups.length - 1 ? group | 0x80 : group)));
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050
    ? tlv(TAG.utcTime, Buffer.from(digits.slice(2), "ascii"))
    : tlv(TAG.generalizedTime, Buffer.from(digits, "ascii"));
}
