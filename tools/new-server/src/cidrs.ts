import { cidrsOverlap, type Server, serverRanges, tailnetRanges } from "@infra/core";

/** An address range already in use, and what uses it (for messages). */
export interface TakenRange {
  cidr: string;
  owner: string;
}

/** The ranges a new server's must not overlap: every server's pod and service ranges, and the tailnet's. */
export function takenRanges(servers: readonly Server[]): TakenRange[] {
  return [
    ...serverRanges(servers).map((range) => ({
      cidr: range.cidr,
      owner: `server ${range.server} (its ${range.field})`,
    })),
    ...tailnetRanges.map((cidr) => ({ cidr, owner: "the tailnet's addresses" })),
  ];
}

/** The first taken range `cidr` overlaps, if any. */
export function overlapOf(cidr: string, taken: readonly TakenRange[]): TakenRange | undefined {
  return taken.find((range) => cidrsOverlap(cidr, range.cidr));
}

// k3s's default pod range is 10.42.0.0/16: counting up from there keeps every server's ranges in
// one block next to the first server's, away from the 10.0.x and 10.1.x many home networks use.
const firstSecondOctet = 42;

/** The first /16 in 10.0.0.0/8, counting up from 10.42.0.0/16, that overlaps no taken range. */
export function pickFreeCidr(taken: readonly TakenRange[]): string {
  for (let offset = 0; offset < 256; offset++) {
    const cidr = `10.${(firstSecondOctet + offset) % 256}.0.0/16`;
    if (!overlapOf(cidr, taken)) return cidr;
  }
  throw new Error("every /16 in 10.0.0.0/8 overlaps a range in use: give --cluster-cidr and --service-cidr");
}
