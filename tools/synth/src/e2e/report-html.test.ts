import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readPlacement } from "@infra/core";
import { type ExampleOutput, exampleStacks, synthExampleStacks } from "./example-stacks";

// Debian's `chromium` package; the test says so and skips without it.
const chromium =
  spawnSync("chromium", ["--version"], { encoding: "utf8" }).status === 0 ? "chromium" : undefined;

/** The page's DOM after its scripts ran, as headless Chromium renders it. */
function renderedDom(file: string): string {
  const profile = mkdtempSync(join(tmpdir(), "synth-chromium-"));
  try {
    return execFileSync(
      "chromium",
      [
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        `--user-data-dir=${profile}`,
        "--dump-dom",
        `file://${file}`,
      ],
      // A bound for a hang only: a loaded CI machine starts Chromium slowly.
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 300_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

describe("report.html", {
  skip: chromium ? false : "chromium is not installed (Debian package: chromium)",
}, () => {
  let output: ExampleOutput;
  before(async () => {
    output = await synthExampleStacks();
  });
  after(() => output?.remove());

  for (const stack of exampleStacks) {
    it(`renders ${stack} in Chromium without errors, showing every app, exposure, backup and EXAMPLE value`, () => {
      assert.deepEqual(output.problems, []);
      const file = output.files(stack).find((candidate) => candidate.path.endsWith(`${stack}/report.html`));
      assert.ok(file, `synth wrote no ${stack}/report.html`);
      // Self-contained: nothing is fetched.
      assert.doesNotMatch(file.text, /\b(?:src|href)\s*=|@import|url\(/);
      const dom = renderedDom(file.path);
      assert.match(dom, /data-status="rendered"/, "the page's script did not finish");
      assert.doesNotMatch(dom, /data-error=/);
      const order = output.order(stack).map((entry) => entry.project);
      const apps = Object.entries(readPlacement())
        .filter(([app, placed]) => placed.server === stack && order.includes(app))
        .map(([app]) => app);
      for (const app of apps)
        assert.match(dom, new RegExp(`data-rendered-app="${app}"`), `${app} is missing`);
      // Every layer is drawn, and the apps among them (cloud-b runs none).
      for (const project of order) assert.match(dom, new RegExp(`data-project="${project}"`));
      assert.equal(dom.match(/data-rendered-app=/g)?.length ?? 0, apps.length);
      for (const project of order) {
        const backups = (output.outputs(stack, project).backups ?? []) as { app: string; schedule: string }[];
        for (const backup of backups) {
          assert.match(dom, new RegExp(`data-backup="${backup.app}"`));
          assert.ok(dom.includes(backup.schedule), `${backup.app}'s schedule is missing`);
        }
      }
      const gateways = order.flatMap((project) =>
        output.manifests(stack, project).filter((object) => object.kind === "Gateway"),
      );
      for (const gateway of gateways) {
        for (const listener of gateway.spec.listeners) assert.ok(dom.includes(listener.hostname));
      }
      if (gateways.some((gateway) => gateway.spec.gatewayClassName === "public")) {
        assert.match(dom, /class="badge public"/);
      }
      assert.match(dom, /class="badge tailnet"/);
      // The reachability matrix: the world reaches the public gateway only on stacks that have one.
      assert.match(dom, /<table class="matrix">/);
      // Every example value of the stack, as synth lists them (the site's and its stack files').
      for (const example of output.exampleValues(stack)) {
        assert.ok(dom.includes(`${example.key} is a`), `report.html of ${stack} lacks ${example.key}`);
      }
    });
  }
});
