/**
 * Upstream schemas carry Go (RE2) patterns such as `\pL` or `\PC` that JavaScript rejects.
 * This turns them into Unicode property escapes; a pattern that still does not compile is
 * reported once and not enforced, rather than failing every validation.
 */
export const untranslatablePatterns = new Set<string>();

function translate(pattern: string): string {
  return pattern.replace(/\\([pP])([A-Z])/g, "\\$1{$2}");
}

function compile(pattern: string, flags: string): { test(value: string): boolean } {
  try {
    return new RegExp(pattern, flags);
  } catch {
    try {
      return new RegExp(translate(pattern), `${flags.replace("u", "")}u`);
    } catch {
      untranslatablePatterns.add(pattern);
      return { test: () => true };
    }
  }
}

/** The regular-expression engine for ajv (`code` names it in generated standalone code, which synth does not use). */
export const goRegExp = Object.assign(compile, { code: "goRegExp" });
