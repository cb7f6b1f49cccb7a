import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { quantityBytes } from "./quantity";

describe("quantityBytes", () => {
  it("reads Kubernetes' binary and decimal size suffixes, and fractions", () => {
    for (const [quantity, bytes] of [
      ["50Gi", 50 * 2 ** 30],
      ["512Mi", 512 * 2 ** 20],
      ["20G", 20e9],
      ["1.5Ti", 1.5 * 2 ** 40],
      ["100k", 100_000],
      ["4096", 4096],
    ] as const) {
      assert.equal(quantityBytes(quantity), bytes, quantity);
    }
  });

  it("reads nothing else as a size", () => {
    for (const quantity of ["10GB", "1K", "-1Gi", "Gi", "", "10 Gi", undefined]) {
      assert.equal(quantityBytes(quantity), undefined, String(quantity));
    }
  });
});
