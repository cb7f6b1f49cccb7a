/** Cilium labels of an endpoint, keyed `source:key` (`k8s:app`, `reserved:host`), with their values. */
export type Labels = Record<string, string>;

export interface SelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

/** A Kubernetes label selector as Cilium policies write it. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

/** The source and key a label key names; a key without a source (`app`) is of source `any`. */
function parseKey(key: string): { source: string; key: string } {
  const colon = key.indexOf(":");
  if (colon <= 0) return { source: "any", key };
  return { source: key.slice(0, colon), key: key.slice(colon + 1) };
}

// A selector key of source `any` matches a label of that key from every source.
function valuesOf(labels: Labels, selectorKey: string): string[] {
  const wanted = parseKey(selectorKey);
  return Object.entries(labels)
    .filter(([labelKey]) => {
      const { source, key } = parseKey(labelKey);
      return key === wanted.key && (wanted.source === "any" || source === wanted.source);
    })
    .map(([, value]) => value);
}

function requirementHolds(requirement: SelectorRequirement, labels: Labels): boolean {
  const found = valuesOf(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return found.some((value) => values.includes(value));
    case "NotIn":
      return !found.some((value) => values.includes(value));
    case "Exists":
      return found.length > 0;
    case "DoesNotExist":
      return found.length === 0;
    default:
      throw new Error(`Unknown label selector operator "${requirement.operator}"`);
  }
}

/** Whether a selector selects an endpoint with these labels (an empty selector selects all). */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  return (
    Object.entries(selector.matchLabels ?? {}).every(([key, value]) =>
      valuesOf(labels, key).includes(String(value)),
    ) && (selector.matchExpressions ?? []).every((requirement) => requirementHolds(requirement, labels))
  );
}

/** Every key a selector constrains. */
export function selectorKeys(selector: LabelSelector): string[] {
  return [
    ...Object.keys(selector.matchLabels ?? {}),
    ...(selector.matchExpressions ?? []).map((requirement) => requirement.key),
  ];
}
