import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  backupStatuses,
  formatAge,
  formatStatusTable,
  latestSnapshotPerApp,
  parseSnapshots,
  type Snapshot,
  snapshotStatusReport,
  staleDeadline,
} from "./snapshot-status";

// Verbatim `restic snapshots --json` of restic 0.14 (snapshots taken with --time).
const restic014 = `[{"time":"2025-02-27T03:00:09Z","tree":"d42a6b18a2c81f69bc1e3c46de4dffc67dd6cde6d79a08b8f5b9a060f830b7c2","paths":["/x"],"hostname":"vaultwarden","username":"root","tags":["vaultwarden"],"id":"347ac865b60de06b32de7d9ebb234073ac8edb83a77f84357e1354d4440c2c9a","short_id":"347ac865"},{"time":"2025-03-01T03:00:07Z","tree":"2eb2db9f312b83d80e363d7ddc78b2723e9beb9c56a758508d6a6c63e4288657","paths":["/x"],"hostname":"nextcloud","username":"root","tags":["nextcloud"],"id":"254103679a11e09870fbe6eadc7b55b3ace5a56a99654c52ce1bf65d2ee27850","short_id":"25410367"},{"time":"2025-03-02T03:00:05Z","tree":"0d1aaad368e40aebfa84bb87510786a61bc856cac580c1cd89a15d5a9ee5d609","paths":["/x"],"hostname":"nextcloud","username":"root","tags":["nextcloud"],"id":"3cf3a94ebfaa7c76f9e078a6ed7ce110e7f4db6ef0ee99f092b7beb8889f6052","short_id":"3cf3a94e"},{"time":"2025-03-02T04:30:11Z","tree":"4b8e68ec8a147043150a716c6c6508b5cca1be6e44535f34c9ac8f64621f19d1","paths":["/x"],"hostname":"postgres","username":"root","tags":["postgres"],"id":"c1e3152a02126d1558f1a144f066b3d49a377449ae41274df44930d9ca44673b","short_id":"c1e3152a"}]`;

// The shape of restic 0.17+: nanosecond local times with offsets, program_version, a summary, and
// (from 0.18 on, optionally) no short_id.
const resticNewer = JSON.stringify([
  {
    time: "2025-03-02T04:00:03.123456789+01:00",
    parent: "aa".repeat(32),
    tree: "bb".repeat(32),
    paths: ["/data"],
    hostname: "immich",
    username: "root",
    uid: 0,
    gid: 0,
    tags: ["immich", "final"],
    program_version: "restic 0.18.0",
    summary: {
      backup_start: "2025-03-02T04:00:03.123456789+01:00",
      backup_end: "2025-03-02T04:01:40.5+01:00",
      files_new: 10,
      files_changed: 0,
      files_unmodified: 2000,
      data_added: 1024,
      total_files_processed: 2010,
      total_bytes_processed: 52428800,
    },
    id: "0123456789abcdef".repeat(4),
  },
]);

const restic014Grouped = `[{"group_key":{"hostname":"postgres","paths":null,"tags":null},"snapshots":[{"time":"2025-03-02T04:30:11Z","tree":"4b8e68ec8a147043150a716c6c6508b5cca1be6e44535f34c9ac8f64621f19d1","paths":["/x"],"hostname":"postgres","username":"root","tags":["postgres"],"id":"c1e3152a02126d1558f1a144f066b3d49a377449ae41274df44930d9ca44673b","short_id":"c1e3152a"}]}]`;

function snapshot(app: string, time: string): Snapshot {
  return {
    id: `${app}-${time}`,
    shortId: app.slice(0, 8),
    time: new Date(time),
    app,
    tags: [app],
    paths: ["/"],
  };
}

describe("parsing restic snapshots --json", () => {
  it("reads restic 0.14 output", () => {
    const snapshots = parseSnapshots(restic014);
    assert.equal(snapshots.length, 4);
    assert.deepEqual(snapshots[1], {
      id: "254103679a11e09870fbe6eadc7b55b3ace5a56a99654c52ce1bf65d2ee27850",
      shortId: "25410367",
      time: new Date("2025-03-01T03:00:07Z"),
      app: "nextcloud",
      tags: ["nextcloud"],
      paths: ["/x"],
    });
  });

  it("reads newer output with offsets, nanoseconds and summaries, deriving a missing short id", () => {
    const [immich] = parseSnapshots(resticNewer);
    assert.equal(immich?.time.toISOString(), "2025-03-02T03:00:03.123Z");
    assert.equal(immich?.shortId, "01234567");
    assert.deepEqual(immich?.tags, ["immich", "final"]);
  });

  it("reads --group-by output as the snapshots of all groups", () => {
    assert.deepEqual(
      parseSnapshots(restic014Grouped).map((s) => s.shortId),
      ["c1e3152a"],
    );
  });

  it("reads an empty repository as no snapshots", () => {
    assert.deepEqual(parseSnapshots("[]\n"), []);
  });

  it("rejects output that is not a list of snapshots, saying what is wrong", () => {
    assert.throws(() => parseSnapshots("Fatal: wrong password"), /not JSON/);
    assert.throws(() => parseSnapshots('{"id":"x"}'), /not a JSON array/);
    assert.throws(
      () => parseSnapshots('[{"id":"abc","hostname":"a","time":"yesterday"}]'),
      /abc has no valid time/,
    );
  });
});

describe("the latest snapshot of each app", () => {
  it("is the newest by time whatever the order of the output", () => {
    const latest = latestSnapshotPerApp([
      snapshot("a", "2025-03-02T03:00:00Z"),
      snapshot("a", "2025-03-03T03:00:00Z"),
      snapshot("b", "2025-03-01T03:00:00Z"),
      snapshot("a", "2025-03-01T03:00:00Z"),
    ]);
    assert.deepEqual(
      [...latest].map(([app, s]) => [app, s.time.toISOString()]),
      [
        ["a", "2025-03-03T03:00:00.000Z"],
        ["b", "2025-03-01T03:00:00.000Z"],
      ],
    );
  });
});

describe("the staleness rule", () => {
  const daily = "0 3 * * *";
  const at = (iso: string) => new Date(iso);

  it("sets the deadline at the second-to-last scheduled run before now", () => {
    assert.equal(staleDeadline(daily, at("2025-03-05T10:00:00Z")).toISOString(), "2025-03-04T03:00:00.000Z");
    assert.equal(
      staleDeadline("0 */6 * * *", at("2025-03-05T10:00:00Z")).toISOString(),
      "2025-03-05T00:00:00.000Z",
    );
  });

  it("counts a run due exactly now as the last run", () => {
    assert.equal(staleDeadline(daily, at("2025-03-05T03:00:00Z")).toISOString(), "2025-03-04T03:00:00.000Z");
  });

  it("reads the schedule in the given time zone", () => {
    // 03:00 in Berlin is 02:00 UTC in winter.
    assert.equal(
      staleDeadline(daily, at("2025-03-05T10:00:00Z"), "Europe/Berlin").toISOString(),
      "2025-03-04T02:00:00.000Z",
    );
  });

  it("calls an app ok whose last run or the one before it left a snapshot", () => {
    const now = at("2025-03-05T10:00:00Z");
    const statuses = backupStatuses(
      [snapshot("fresh", "2025-03-05T03:00:04Z"), snapshot("missed-one", "2025-03-04T03:00:04Z")],
      {
        apps: [
          { app: "fresh", schedule: daily },
          { app: "missed-one", schedule: daily },
        ],
        now,
      },
    );
    assert.deepEqual(
      statuses.map((s) => [s.app, s.stale]),
      [
        ["fresh", false],
        ["missed-one", false],
      ],
    );
  });

  it("calls an app stale that missed two runs or has no snapshot at all", () => {
    const now = at("2025-03-05T10:00:00Z");
    const statuses = backupStatuses([snapshot("missed-two", "2025-03-03T03:00:04Z")], {
      apps: [
        { app: "missed-two", schedule: daily },
        { app: "never", schedule: daily },
      ],
      now,
    });
    assert.deepEqual(
      statuses.map((s) => [s.app, s.stale, s.latest?.app]),
      [
        ["missed-two", true, "missed-two"],
        ["never", true, undefined],
      ],
    );
  });

  it("judges every app of the repository by the default schedule unless it has its own", () => {
    const now = at("2025-03-02T05:00:00Z");
    const statuses = backupStatuses(parseSnapshots(restic014), {
      defaultSchedule: daily,
      apps: [{ app: "vaultwarden", schedule: "0 3 * * 1" }],
      now,
    });
    assert.deepEqual(
      statuses.map((s) => [s.app, s.schedule, s.stale]),
      [
        ["nextcloud", daily, false],
        ["postgres", daily, false],
        // Weekly on Mondays: the runs before now are 2025-02-24 and 2025-02-17.
        ["vaultwarden", "0 3 * * 1", false],
      ],
    );
  });
});

describe("the status table", () => {
  it("formats ages with their two largest units", () => {
    assert.equal(formatAge(42_000), "42s");
    assert.equal(formatAge((2 * 60 + 5) * 60_000 + 7000), "2h 5m");
    assert.equal(formatAge(3 * 86_400_000 + 3_600_000), "3d 1h");
    assert.equal(formatAge(2 * 86_400_000), "2d");
  });

  it("shows app, latest snapshot, age, schedule and verdict in aligned columns", () => {
    const now = new Date("2025-03-02T05:00:00Z");
    const statuses = backupStatuses(parseSnapshots(restic014), {
      apps: [
        { app: "nextcloud", schedule: "0 3 * * *" },
        { app: "immich", schedule: "@daily" },
      ],
      now,
    });
    assert.equal(
      formatStatusTable(statuses, now),
      [
        "APP        LATEST SNAPSHOT (UTC)  AGE     SCHEDULE   STATUS",
        "immich     none                   -       @daily     STALE",
        "nextcloud  2025-03-02T03:00:05Z   1h 59m  0 3 * * *  ok",
      ].join("\n"),
    );
  });

  it("reports whether any app is stale across several repositories", () => {
    const options = { defaultSchedule: "0 3 * * *", now: new Date("2025-03-02T05:00:00Z") };
    assert.equal(snapshotStatusReport([restic014Grouped, resticNewer], options).anyStale, false);
    assert.equal(snapshotStatusReport(restic014, options).anyStale, true);
  });
});

describe("snapshot-status-cli", () => {
  const dir = mkdtempSync(join(tmpdir(), "snapshot-status-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (args: string[], input = "") =>
    spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "snapshot-status-cli.ts"), ...args], {
      cwd: join(__dirname, "..", "..", "..", ".."),
      input,
      encoding: "utf8",
    });

  it("prints the table and exits 1 when an app is stale", () => {
    const file = join(dir, "snapshots.json");
    writeFileSync(file, restic014);
    const result = cli(["--input", file, "--schedule", "0 3 * * *", "--now", "2025-03-02T05:00:00Z"]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /^vaultwarden +2025-02-27T03:00:09Z +3d 1h +0 3 \* \* \* +STALE$/m);
  });

  it("reads stdin and exits 0 when every app is ok", () => {
    const result = cli(
      ["--input", "-", "--app", "postgres=30 4 * * *", "--now", "2025-03-02T05:00:00Z"],
      restic014Grouped,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^postgres +2025-03-02T04:30:11Z +29m 49s +30 4 \* \* \* +ok$/m);
  });

  it("exits 2 with the usage when no schedule is given", () => {
    const result = cli(["--input", "-"], "[]");
    assert.equal(result.status, 2);
    assert.match(result.stderr, /give --app and\/or --schedule[\s\S]*Usage:/);
  });
});
