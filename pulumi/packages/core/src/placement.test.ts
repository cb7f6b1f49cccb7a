import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appOnStack, type Migration, parsePlacement, readPlacement } from "./placement";

const started = "2026-12-03T10:00:00Z";
const snapshot = "a".repeat(64);

function placementWith(migration: Migration) {
  return parsePlacement(
    JSON.stringify({ apps: { notes: { server: "cloud-a", migration } } }),
    "placement.yaml",
  );
}

describe("placement", () => {
  it("runs an app on its server only", () => {
    const placement = parsePlacement("apps:\n  notes: cloud-a\n", "placement.yaml");
    assert.deepEqual(appOnStack(placement, "notes", "cloud-a"), {
      runs: true,
      stopped: false,
      dnsRecords: true,
    });
    assert.deepEqual(appOnStack(placement, "notes", "cloud-b"), { runs: false });
  });

  it("names the file and the key when an app has no server", () => {
    const placement = parsePlacement("apps:\n  notes: cloud-a\n", "placement.yaml");
    assert.throws(
      () => appOnStack(placement, "blog", "cloud-a"),
      /App "blog" has no server in pulumi\/placement.yaml/,
    );
  });

  it("rejects a misspelled key and a server that is no stack name", () => {
    assert.throws(
      () => parsePlacement("apps:\n  notes: { sever: cloud-a }\n", "p.yaml"),
      /p.yaml is not a placement/,
    );
    assert.throws(() => parsePlacement("apps:\n  notes: Cloud_A\n", "p.yaml"), /apps.notes/);
    assert.throws(() => parsePlacement("apps: [\n", "p.yaml"), /^Error: p.yaml: /);
  });

  it("keeps the source stopped and the target empty until the final snapshot is verified", () => {
    const placement = placementWith({
      to: "cloud-b",
      done: "final-backup",
      snapshot,
      dns: "source",
      started,
    });
    assert.deepEqual(appOnStack(placement, "notes", "cloud-a"), {
      runs: true,
      stopped: true,
      dnsRecords: true,
    });
    assert.deepEqual(appOnStack(placement, "notes", "cloud-b"), { runs: false });
  });

  it("restores exactly the verified snapshot on the target, without its DNS records while the source has them", () => {
    const placement = placementWith({ to: "cloud-b", done: "verify", snapshot, dns: "source", started });
    assert.deepEqual(appOnStack(placement, "notes", "cloud-b"), {
      runs: true,
      stopped: false,
      dnsRecords: false,
      restore: { snapshot, forceHold: false },
    });
  });

  it("gives the DNS records to one side at a time and removes the source once they moved", () => {
    const between = placementWith({ to: "cloud-b", done: "restore", snapshot, dns: "none", started });
    assert.deepEqual(appOnStack(between, "notes", "cloud-a"), {
      runs: true,
      stopped: true,
      dnsRecords: false,
    });
    assert.equal((appOnStack(between, "notes", "cloud-b") as { dnsRecords: boolean }).dnsRecords, false);
    const moved = placementWith({ to: "cloud-b", done: "dns", snapshot, dns: "target", started });
    assert.deepEqual(appOnStack(moved, "notes", "cloud-a"), { runs: false });
    assert.equal((appOnStack(moved, "notes", "cloud-b") as { dnsRecords: boolean }).dnsRecords, true);
  });

  it("renders nothing on the target while a migration is rolled back", () => {
    const placement = placementWith({
      to: "cloud-b",
      done: "restore",
      snapshot,
      dns: "source",
      started,
      rollingBack: true,
    });
    assert.deepEqual(appOnStack(placement, "notes", "cloud-b"), { runs: false });
  });

  it("refuses a migration past its final backup that names no snapshot", () => {
    assert.throws(
      () => placementWith({ to: "cloud-b", done: "verify", dns: "source", started }),
      /names the snapshot/,
    );
  });

  it("reads the repository's placement: every app on one server", () => {
    const placement = readPlacement();
    assert.ok(Object.keys(placement).length > 0);
    for (const entry of Object.values(placement)) assert.equal(entry.migration, undefined);
  });
});
