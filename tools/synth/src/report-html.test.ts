import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderReportHtml, type StackPicture } from "./report-html";

const picture: StackPicture = {
  stack: "lab",
  layers: [
    { project: "shared", layer: 0, references: [], app: false },
    { project: "notes", layer: 1, references: ["shared"], app: true },
  ],
  exposures: [
    {
      project: "notes",
      namespace: "notes",
      gateway: "notes",
      reach: "public",
      hostnames: ["notes.example.com"],
    },
  ],
  reachability: {
    namespaces: ["notes"],
    senders: ["notes", "world"],
    cells: { world: { notes: ["8080/TCP"] } },
  },
  backups: [
    {
      project: "notes",
      app: "notes",
      namespace: "notes",
      schedule: "30 3 * * *",
      repository: "rclone:storage:backups/notes",
      retention: { daily: 7 },
    },
  ],
  examples: [{ file: "servers/site.json", line: 3, text: "domain <example>.com is an example value" }],
  exampleData: [],
};

describe("renderReportHtml", () => {
  const page = renderReportHtml(picture);

  it("draws every layer and marks the apps, with their exposures", () => {
    assert.match(page, /data-project="shared"/);
    assert.match(page, /data-project="notes" data-app="notes"/);
    assert.match(page, /class="badge public"/);
    assert.match(page, /notes\.example\.com/);
  });

  it("shows the matrix, the backups and the EXAMPLE values, escaped", () => {
    assert.match(page, /<td class="open" title="world → notes">8080\/TCP<\/td>/);
    assert.match(page, /<tr data-backup="notes">.*30 3 \* \* \*.*daily 7/);
    assert.match(
      page,
      /<td>servers\/site\.json<\/td><td>3<\/td><td>domain &lt;example&gt;\.com is an example value<\/td>/,
    );
  });

  it("fetches nothing", () => {
    assert.doesNotMatch(page, /\b(?:src|href)\s*=|@import|url\(/);
  });

  it("says why the reachability analysis could not answer", () => {
    const refused = renderReportHtml({
      ...picture,
      reachability: { namespaces: [], senders: [], cells: {}, error: "deny rules are not modelled" },
    });
    assert.match(refused, /cannot answer for this stack: deny rules are not modelled/);
  });
});
