import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { describeUnknownKey, nearest, schemaAt, unknownKeys } from "./config-keys";
import { storageConfig } from "./validators";

const settings = z.object({
  storage: storageConfig("10Gi"),
  egress: z.array(z.object({ hosts: z.array(z.string()), ports: z.array(z.number()) })).default([]),
  target: z
    .discriminatedUnion("kind", [
      z.object({ kind: z.literal("ntfy"), url: z.string() }),
      z.object({ kind: z.literal("webhook"), url: z.string(), headers: z.record(z.string(), z.string()) }),
    ])
    .optional(),
  labels: z.record(z.string(), z.string()).default({}),
});

/** The messages for every unknown key of `value`, as a project's config error lists them. */
function messages(value: unknown): string[] {
  return unknownKeys(settings, value).map((entry) => describeUnknownKey("postgresql:", entry));
}

describe("unknown config keys", () => {
  it("names a misspelled key inside a default, suggesting the known one", () => {
    assert.deepEqual(messages({ storage: { sise: "20Gi" } }), [
      "postgresql:storage.sise is not a setting; did you mean size?",
    ]);
  });

  it("follows arrays and the option of a discriminated union that the value names", () => {
    assert.deepEqual(
      messages({
        egress: [
          { hosts: [], ports: [] },
          { hosts: [], prots: [] },
        ],
        target: { kind: "webhook", url: "", header: {} },
      }),
      [
        "postgresql:egress.1.prots is not a setting; did you mean ports?",
        "postgresql:target.header is not a setting; did you mean headers?",
      ],
    );
  });

  it("lists the known keys when nothing is close", () => {
    assert.deepEqual(messages({ storage: { volume: "x" } }), [
      "postgresql:storage.volume is not a setting (postgresql:storage takes: size, className)",
    ]);
  });

  it("takes any key of a record, and every key a schema knows", () => {
    assert.deepEqual(
      messages({ labels: { anything: "x" }, storage: { size: "1Gi", className: "fast" } }),
      [],
    );
  });

  it("suggests only a key close enough to be a typo", () => {
    assert.equal(nearest("shedule", ["schedule", "retention"]), "schedule");
    assert.equal(nearest("zzz", ["schedule", "retention"]), undefined);
  });
});

describe("the schema at a path", () => {
  it("follows objects, arrays and records, and the union option the value names", () => {
    assert.ok(schemaAt(settings, ["storage", "size"]));
    assert.ok(schemaAt(settings, ["egress", "0", "ports"]));
    assert.ok(schemaAt(settings, ["labels", "anything"]));
    assert.ok(schemaAt(settings, ["target", "headers"], { target: { kind: "webhook" } }));
  });

  it("has none for a field the schema lacks, or one of another union option", () => {
    assert.equal(schemaAt(settings, ["storage", "sise"]), undefined);
    assert.equal(schemaAt(settings, ["target", "headers"], { target: { kind: "ntfy" } }), undefined);
    assert.equal(schemaAt(settings, ["target", "url"], { target: { kind: "none" } }), undefined);
  });
});
