// Bech32 (BIP 173), the encoding of age recipients ("age1...").
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    GENERATORS.forEach((generator, bit) => {
      if ((top >>> bit) & 1) checksum ^= generator;
    });
  }
  return checksum;
}

function expandHrp(hrp: string): number[] {
  const chars = [...hrp].map((char) => char.charCodeAt(0));
  return [...chars.map((code) => code >>> 5), 0, ...chars.map((code) => code & 31)];
}

/** Regroups 8-bit bytes into 5-bit words, padding the last word with zero bits. */
function toWords(bytes: Uint8Array): number[] {
  const words: number[] = [];
  let accumulator = 0;
  let bits = 0;
  for (const byte of bytes) {
    accumulator = (accumulator << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((accumulator >>> bits) & 31);
    }
  }
  if (bits > 0) words.push((accumulator << (5 - bits)) & 31);
  return words;
}

/** Encodes bytes under a human-readable part; the result is lower case, as age writes recipients. */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const lowerHrp = hrp.toLowerCase();
  const words = toWords(data);
  const checksum = polymod([...expandHrp(lowerHrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksumWords = [25, 20, 15, 10, 5, 0].map((shift) => (checksum >>> shift) & 31);
  return `${lowerHrp}1${[...words, ...checksumWords].map((word) => CHARSET[word]).join("")}`;
}
