import { createHash } from "node:crypto";

/**
 * A fingerprint of an app's stable secrets: sha256 over the sorted entries, so that equal maps give
 * equal fingerprints and no value can be read back; undefined for none.
 */
export function fingerprint(entries: Record<string, string>): string | undefined {
  const keys = Object.keys(entries).sort();
  if (keys.length === 0) return undefined;
  const hash = createHash("sha256");
  for (const key of keys) hash.update(`${key}\0${entries[key]}\0`);
  return hash.digest("hex");
}
