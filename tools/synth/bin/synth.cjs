#!/usr/bin/env node
// Entry point of `yarn synth`. Start-up dominates a synth run, so before TypeScript support is
// registered it loads the Pulumi SDKs with Node's own loader (tsx's hooks would otherwise inspect
// each of their thousands of files) and keeps compiled code in a cache between runs.
const { enableCompileCache } = require("node:module");
const { join } = require("node:path");

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `synth needs Node 22 or newer (this is Node ${process.versions.node}). ` +
      "Run it as `./run synth`, which installs the Node version in .node-version when needed.",
  );
  process.exit(1);
}

enableCompileCache(join(__dirname, "..", "..", "..", "node_modules", ".cache", "homelab-synth", "v8"));

require("@pulumi/pulumi");
const kubernetes = require("@pulumi/kubernetes");
// The SDK loads each API group on first use; these are the groups every stack uses.
for (const group of [kubernetes.core.v1, kubernetes.apps.v1, kubernetes.batch.v1, kubernetes.rbac.v1]) {
  void group;
}
void kubernetes.helm.v3.Release;
void kubernetes.apiextensions.CustomResource;

require("tsx/cjs/api").register();
// The SDK captures a stack trace for every resource and promise, for messages synth never
// shows: formatting them (and mapping them back to TypeScript) is a fifth of a run. Programs'
// own errors are reported by message; SYNTH_STACK_TRACES=1 brings full traces back.
if (process.env.SYNTH_STACK_TRACES !== "1") {
  process.setSourceMapsEnabled(false);
  Error.stackTraceLimit = 0;
}
require("../src/cli.ts");
