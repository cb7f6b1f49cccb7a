#!/usr/bin/env node
// Entry point of `yarn synth`. Start-up dominates a synth run, so before TypeScript support is
// registered it loads the Pulumi SDKs with Node's own loader (tsx's hooks would otherwise inspect
// each of their thousands of files) and keeps compiled code in a cache between runs.
const { enableCompileCache } = require("node:module");
const { dirname, join } = require("node:path");

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `synth needs Node 22 or newer (this is Node ${process.versions.node}). ` +
      "Run it as `./run synth`, which installs the Node version in .node-version when needed.",
  );
  process.exit(1);
}

enableCompileCache(join(__dirname, "..", "..", "..", "node_modules", ".cache", "homelab-synth", "v8"));

// The SDK loads the TypeScript compiler (for closure serialization) and npm's arborist (for the
// Automation API) as it starts: a third of its load, for features the mock runtime never uses.
// Each is left in the module cache as a stand-in that loads the real module on first use.
const Module = require("node:module");
const pulumiDir = dirname(require.resolve("@pulumi/pulumi/package.json"));
for (const name of ["typescript", "@npmcli/arborist"]) {
  const path = require.resolve(name, { paths: [pulumiDir] });
  let real;
  const load = () => {
    if (real === undefined) {
      delete require.cache[path];
      real = require(path);
    }
    return real;
  };
  const standIn = new Module(path);
  standIn.filename = path;
  standIn.loaded = true;
  // Marked an ES module so the SDK's `__importStar` keeps it as it is instead of copying (and so
  // loading) every export; its default is the module itself, as for any CommonJS module.
  standIn.exports = new Proxy(
    {},
    { get: (_, key) => (key === "__esModule" ? true : key === "default" ? load() : load()[key]) },
  );
  require.cache[path] = standIn;
}

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
