/**
 * Reading and editing WireGuard config text the way wg-quick reads it: `[Section]` headers, `Key = value`
 * lines with case-insensitive keys, `#` starting a comment.
 */

interface ConfigLine {
  section: string;
  key: string;
  value: string;
}

function parseLine(line: string, section: string): ConfigLine | undefined {
  const content = line.replace(/#.*/, "");
  const separator = content.indexOf("=");
  if (separator < 0) return undefined;
  return {
    section,
    key: content.slice(0, separator).trim().toLowerCase(),
    value: content.slice(separator + 1).trim(),
  };
}

function lines(text: string): { raw: string; parsed?: ConfigLine }[] {
  let section = "";
  return text.split("\n").map((raw) => {
    const header = /^\s*\[(\w+)\]/.exec(raw);
    if (header?.[1]) section = header[1].toLowerCase();
    return { raw, parsed: header ? undefined : parseLine(raw, section) };
  });
}

/** The values of `key` in `section` (e.g. "Interface", "PostUp"), in file order. */
export function configValues(text: string, section: string, key: string): string[] {
  return lines(text)
    .map((line) => line.parsed)
    .filter((line) => line?.section === section.toLowerCase() && line.key === key.toLowerCase())
    .map((line) => line?.value ?? "");
}

/** The text with the single `key` of `section` set to `value`; throws unless there is exactly one. */
export function replaceConfigValue(text: string, section: string, key: string, value: string): string {
  let found = 0;
  const replaced = lines(text).map(({ raw, parsed }) => {
    if (parsed?.section !== section.toLowerCase() || parsed.key !== key.toLowerCase()) return raw;
    found++;
    return `${key} = ${value}`;
  });
  if (found !== 1)
    throw new Error(`expected one ${key} in [${section}] of the WireGuard config, found ${found}`);
  return replaced.join("\n");
}
