import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { finalBackupScript } from "./final-backup";
import { missingBinaries, run } from "./testing/restic-sandbox";

const root = mkdtempSync(join(tmpdir(), "final-backup-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

// Stands in for kubectl: records every call, and answers from files of its state directory:
// `active` (how many polls the scheduled backup is still running), `conditions` (the job's
// condition types, one line per poll, the last one repeated), `get-failures` (failing gets).
const fakeKubectl = `#!/usr/bin/env bash
set -euo pipefail
state=$FAKE_KUBECTL_STATE
printf '%s\\n' "$*" >> "$state/calls"
args=("$@")
verb=\${args[4]}
case "$verb" in
  get)
    failures=$(cat "$state/get-failures" 2>/dev/null || echo 0)
    if [ "$failures" -gt 0 ]; then echo $((failures - 1)) > "$state/get-failures"; echo "connection refused" >&2; exit 1; fi
    case "\${args[5]}" in
      cronjob/*)
        active=$(cat "$state/active" 2>/dev/null || echo 0)
        if [ "$active" -gt 0 ]; then echo $((active - 1)) > "$state/active"; printf '[{"name":"scheduled"}]'; fi ;;
      job/*)
        line=$(head -n 1 "$state/conditions")
        [ "$(wc -l < "$state/conditions")" -le 1 ] || sed -i 1d "$state/conditions"
        printf '%s' "$line" ;;
    esac ;;
  create) ;;
  logs) echo "backup.sh: snapshot saved" ;;
esac
`;

let runs = 0;
async function finalBackup(options: {
  env?: Record<string, string>;
  conditions?: string[];
  active?: number;
  getFailures?: number;
}) {
  const dir = join(root, `run-${++runs}`);
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "kubectl"), fakeKubectl);
  chmodSync(join(bin, "kubectl"), 0o755);
  writeFileSync(
    join(dir, "conditions"),
    `${(options.conditions ?? ["", "SuccessCriteriaMet Complete"]).join("\n")}\n`,
  );
  writeFileSync(join(dir, "active"), String(options.active ?? 0));
  writeFileSync(join(dir, "get-failures"), String(options.getFailures ?? 0));
  // Exactly what Pulumi runs: the Command's delete through its interpreter, with its environment.
  const result = await run("/bin/bash", ["-c", finalBackupScript], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_KUBECTL_STATE: dir,
      KUBE_CONTEXT: "cloud-a",
      NAMESPACE: "notes",
      CRONJOB: "notes-final-backup",
      SCHEDULED_CRONJOB: "notes-backup",
      APP: "notes",
      POLL_SECONDS: "0",
      ...options.env,
    },
  });
  let calls: string[] = [];
  try {
    calls = readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
  } catch {
    // kubectl was never called.
  }
  return { ...result, calls };
}

const createCall =
  /^--context cloud-a --namespace notes create job notes-final-backup-\d{14} --from=cronjob\/notes-final-backup$/;

describe("final-backup.sh, the final-backup command's delete", () => {
  it("starts a job from the final-backup template in the app's namespace and succeeds when it completes", async () => {
    const result = await finalBackup({});
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.calls.filter((call) => createCall.test(call)).length, 1);
    assert.ok(result.calls.every((call) => call.startsWith("--context cloud-a --namespace notes ")));
    assert.match(result.stderr, /backup\.sh: snapshot saved/);
    assert.match(result.stderr, /final backup done/);
  });

  it("fails, keeping the volume, when the final backup job fails", async () => {
    const result = await finalBackup({ conditions: ["", "FailureTarget Failed"] });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /final backup job notes-final-backup-\d+ failed: the volume is kept/);
    assert.match(result.stderr, /backup\.sh: snapshot saved/);
  });

  it("waits for a scheduled backup in progress before starting", async () => {
    const result = await finalBackup({ active: 2 });
    assert.equal(result.code, 0, result.stderr);
    const created = result.calls.findIndex((call) => createCall.test(call));
    const scheduledPolls = result.calls.filter((call) => call.includes("get cronjob/notes-backup"));
    assert.equal(scheduledPolls.length, 3);
    assert.ok(result.calls.slice(0, created).every((call) => call.includes("get cronjob/notes-backup")));
  });

  it("fails when the job does not finish in time", async () => {
    const result = await finalBackup({ conditions: [""], env: { TIMEOUT_SECONDS: "0" } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /did not finish in time: the volume is kept/);
  });

  it("rides out a few failed reads of the job, but not many", async () => {
    assert.equal((await finalBackup({ getFailures: 3 })).code, 0);
    const failing = await finalBackup({ getFailures: 50 });
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /cannot read cronjob\/notes-backup/);
  });

  it("skips the backup, calling nothing, when the operator names the app in SKIP_FINAL_BACKUP", async () => {
    for (const skip of ["notes", "other,notes", "all"]) {
      const result = await finalBackup({ env: { SKIP_FINAL_BACKUP: skip } });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.calls, []);
      assert.match(result.stderr, /no final backup/);
    }
    assert.ok(
      (await finalBackup({ env: { SKIP_FINAL_BACKUP: "notes-other" } })).calls.some((call) =>
        createCall.test(call),
      ),
    );
  });

  it("fails before calling kubectl when its settings are missing", async () => {
    const result = await finalBackup({ env: { KUBE_CONTEXT: "" } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /KUBE_CONTEXT is not set/);
    assert.deepEqual(result.calls, []);
  });

  it("passes shellcheck", {
    skip: missingBinaries(["shellcheck"]).length > 0 ? "needs shellcheck" : false,
  }, async () => {
    const file = join(root, "final-backup.sh");
    writeFileSync(file, finalBackupScript);
    const result = await run("shellcheck", [file], { env: { PATH: process.env.PATH } });
    assert.equal(result.code, 0, result.stdout);
  });
});
