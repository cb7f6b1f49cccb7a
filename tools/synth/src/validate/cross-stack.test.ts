import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ResourceRecord } from "../run-program";
import type { ProjectSynth, StackSynth } from "../synth";
import { checkCrossStack } from "./cross-stack";
import { wrappedSecret } from "./test-stack";

const zone = "0123456789abcdef0123456789abcdef";

function record(name: unknown, zoneId: unknown = zone): ResourceRecord {
  return {
    urn: `urn:pulumi:x::y::cloudflare:index/dnsRecord:DnsRecord::${String(name)}`,
    type: "cloudflare:index/dnsRecord:DnsRecord",
    name: String(name),
    dependsOn: [],
    custom: true,
    read: false,
    inputs: { zoneId, name, type: "A", content: "203.0.113.10", ttl: 1 },
  };
}

function project(name: string, resources: ResourceRecord[]): ProjectSynth {
  return {
    project: name,
    stack: "",
    resources,
    outputs: {},
    reads: new Map(),
    missingProjects: new Set(),
    configReads: new Set(),
    references: new Set(),
    errors: [],
    examples: [],
    generatedSecrets: [],
    secretValues: [],
  };
}

function stack(name: string, projects: ProjectSynth[]): StackSynth {
  return { stack: name, projects, errors: [] };
}

describe("checkCrossStack", () => {
  it("accepts records of distinct names, and one name in two zones", () => {
    assert.deepEqual(
      checkCrossStack([
        stack("cloud-a", [project("notes", [record("notes.cloud-a.example.com"), record("a.example.com")])]),
        stack("cloud-b", [
          project("notes", [record("notes.cloud-b.example.com"), record("a.example.com", "f".repeat(32))]),
        ]),
      ]),
      [],
    );
  });

  it("fails when two stacks render a record of the same name in the same zone, naming both and the record", () => {
    const problems = checkCrossStack([
      stack("cloud-a", [project("kubernetes-dashboard", [record("dashboard.example.com")])]),
      stack("cloud-b", [project("kubernetes-dashboard", [record("dashboard.example.com")])]),
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /"dashboard\.example\.com"/);
    assert.match(problems[0] ?? "", new RegExp(`zone ${zone}`));
    assert.match(problems[0] ?? "", /cloud-a\/kubernetes-dashboard and cloud-b\/kubernetes-dashboard/);
  });

  it("compares names as DNS does: case and a trailing dot do not make them distinct", () => {
    const problems = checkCrossStack([
      stack("cloud-a", [project("blog", [record("Blog.Example.com.")])]),
      stack("local-a", [project("blog", [record("blog.example.com")])]),
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /cloud-a\/blog and local-a\/blog/);
  });

  it("fails on two projects of one stack rendering the same record", () => {
    const problems = checkCrossStack([
      stack("cloud-a", [
        project("blog", [record("www.example.com")]),
        project("shop", [record("www.example.com")]),
      ]),
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /cloud-a\/blog and cloud-a\/shop/);
  });

  it("reads names and zones that are secrets", () => {
    const problems = checkCrossStack([
      stack("cloud-a", [project("blog", [record(wrappedSecret("blog.example.com"), wrappedSecret(zone))])]),
      stack("cloud-b", [project("blog", [record("blog.example.com")])]),
    ]);
    assert.equal(problems.length, 1);
  });
});
