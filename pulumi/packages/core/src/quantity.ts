// Kubernetes' quantity suffixes for sizes (apimachinery resource.Quantity): binary and decimal.
const units: Record<string, number> = {
  "": 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};

/** The bytes a Kubernetes size quantity (`50Gi`, `20G`, `1.5Ti`) stands for; undefined for anything else. */
export function quantityBytes(quantity: unknown): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(String(quantity));
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (units[match[2] ?? ""] as number));
}
