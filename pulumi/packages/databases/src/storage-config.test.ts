import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serverStorageConfig } from "./storage-config";

describe("serverStorageConfig", () => {
  it("gives a server 10Gi on the cluster's default storage class when nothing is set", () => {
    assert.deepEqual(serverStorageConfig.parse(undefined), { size: "10Gi" });
  });

  it("keeps a size and storage class that are set", () => {
    assert.deepEqual(serverStorageConfig.parse({ size: "50Gi", className: "fast" }), {
      size: "50Gi",
      className: "fast",
    });
  });

  it("rejects a size Kubernetes would not read, saying what is expected", () => {
    const result = serverStorageConfig.safeParse({ size: "10GB" });
    assert.equal(result.success, false);
    assert.deepEqual(
      result.error?.issues.map((issue) => [issue.path.join("."), issue.message]),
      [
        [
          "size",
          "expected a volume size, a Kubernetes quantity such as 10Gi or 20G: 10GB is not a quantity " +
            "(a number and a suffix: Ki, Mi, Gi, Ti, k, M, G, T)",
        ],
      ],
    );
  });

  it("takes a decimal size as Kubernetes does", () => {
    assert.deepEqual(serverStorageConfig.parse({ size: "20G" }), { size: "20G" });
  });

  it("refuses a misspelled key instead of quietly giving the default size", () => {
    const result = serverStorageConfig.safeParse({ sise: "20Gi" });
    assert.equal(result.success, false);
    assert.match(result.error?.issues[0]?.message ?? "", /Unrecognized key: "sise"/);
  });
});
