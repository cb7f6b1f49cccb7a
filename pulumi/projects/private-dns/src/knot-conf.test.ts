import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { knotPaths, knotPort, renderKnotConf, zoneFileName } from "./knot-conf";

const zone = "internal.example.com";
const conf = renderKnotConf({ zone });
const settings = conf.split("\n").map((line) => line.trim());

describe("Knot's configuration, as the pod gets it", () => {
  const cases: [string, string][] = [
    [
      "listens on every address of the pod, on a port a non-root process may bind",
      `listen: 0.0.0.0@${knotPort}`,
    ],
    ["keeps its PID file and control socket in a scratch directory", `rundir: "${knotPaths.rundir}"`],
    ["keeps its databases in a scratch directory", `storage: "${knotPaths.storage}"`],
    ["serves the private zone from the ConfigMap's zone file", `file: "${knotPaths.config}/${zoneFileName}"`],
    ["is authoritative for the private zone", `- domain: ${zone}.`],
    ["loads the whole zone file at every start", "zonefile-load: whole"],
    ["keeps no journal, so nothing of a zone outlives the pod", "journal-content: none"],
    ["never writes the zone file", "zonefile-sync: -1"],
    ["logs to standard output", "- target: stdout"],
    ["tells no one its version", 'version: ""'],
  ];
  for (const [what, line] of cases) {
    it(what, () => assert.ok(settings.includes(line), `${line} in\n${conf}`));
  }

  it("allows no transfer, NOTIFY or update to anyone: it has no ACL", () => {
    assert.doesNotMatch(conf, /^acl:|^\s*acl:|^remote:/m);
  });

  it("takes the test's listen address and paths from its options, and nothing else changes", () => {
    const moved = renderKnotConf({
      zone,
      zoneFile: "/tmp/z/private.zone",
      listen: { address: "127.0.0.1", port: 15353 },
      rundir: "/tmp/z/run",
      storage: "/tmp/z/db",
    });
    const changed = moved.split("\n").filter((line) => !conf.split("\n").includes(line));
    assert.deepEqual(changed, [
      '    rundir: "/tmp/z/run"',
      "    listen: 127.0.0.1@15353",
      '    storage: "/tmp/z/db"',
      '    file: "/tmp/z/private.zone"',
    ]);
  });

  const knotc = spawnSync("sh", ["-c", "command -v knotc"]).status === 0;
  it("is a configuration Knot accepts (knotc conf-check)", {
    skip: knotc ? false : "needs knotc (Debian knot)",
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "knot-conf-"));
    try {
      const path = join(dir, "knot.conf");
      writeFileSync(path, conf);
      const check = spawnSync("knotc", ["-c", path, "conf-check"], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      // It does fail a wrong one, so the check above means something.
      writeFileSync(path, conf.replace("zonefile-load: whole", "zonefile-load: wholly"));
      const wrong = spawnSync("knotc", ["-c", path, "conf-check"], { encoding: "utf8" });
      assert.notEqual(wrong.status, 0);
      assert.match(wrong.stderr, /zonefile-load/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
