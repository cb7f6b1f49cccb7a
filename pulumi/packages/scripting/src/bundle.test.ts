import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { createJob, createNamespace, createSecret, emptyDir, secretKeyRef } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { createScriptBundle, type ScriptBundle, scriptPod } from "./bundle";
import { mergeEnvironments, type ScriptEnvironment } from "./environment";
import { renderRunner } from "./runner";

function namespaceOnCluster() {
  const provider = new k8s.Provider("cluster", { context: "test" });
  return createNamespace({ name: "apps", provider });
}

const tool: ScriptEnvironment = {
  name: "tool",
  scripts: { "work.sh": "echo work\n", "lib.sh": "# sourced\n" },
  packages: [{ name: "restic", image: "example/restic:1.0", files: { "/usr/bin/restic": "bin/restic" } }],
  env: { TOOL_MODE: "fast" },
  mounts: [{ volume: emptyDir("cache"), mountPath: "/cache" }],
};

const server: ScriptEnvironment = {
  name: "server",
  image: "example/server:2.0",
  scripts: { "start.sh": "echo start\n", "stop.sh": "echo stop\n" },
  setup: "start.sh",
  cleanup: "stop.sh",
  env: { SERVER_HOST: "127.0.0.1" },
};

/** The user and group the jobs below run as. */
const runAs = { user: 1000, group: 2000 };

async function renderJob(environments: ScriptEnvironment[], script = "work.sh") {
  let bundle: ScriptBundle | undefined;
  const rendered = await render(() => {
    const namespace = namespaceOnCluster();
    bundle = createScriptBundle({ name: "jobs", namespace, environments });
    createJob({ name: "run", namespace, ...scriptPod(bundle, { script, args: ["--now"], runAs }) });
  });
  assert.deepEqual(rendered.errors, []);
  return { rendered, bundle: bundle as ScriptBundle, job: rendered.manifest("Job", "run") };
}

describe("createScriptBundle", () => {
  it("puts every environment's files and the generated runner into one ConfigMap", async () => {
    const { rendered } = await renderJob([tool, server]);
    const merged = mergeEnvironments([tool, server]);
    assert.deepEqual(rendered.manifest("ConfigMap", "jobs").data, {
      "work.sh": "echo work\n",
      "lib.sh": "# sourced\n",
      "start.sh": "echo start\n",
      "stop.sh": "echo stop\n",
      "run.sh": renderRunner({
        bundle: "jobs",
        setups: merged.setups,
        cleanups: merged.cleanups,
        tools: true,
      }),
    });
  });

  it("runs the script through the runner, in the image an environment asks for", async () => {
    const { job } = await renderJob([tool, server]);
    const container = job.spec.template.spec.containers[0];
    assert.equal(container.image, "example/server:2.0");
    assert.deepEqual(container.command, ["/bin/bash", "/opt/scripts/run.sh", "work.sh", "--now"]);
  });

  it("uses the pinned Debian image when no environment asks for one", async () => {
    const { job } = await renderJob([tool]);
    assert.equal(job.spec.template.spec.containers[0].image, images.scriptBase);
  });

  it("copies each package's files into the tools directory with an init container of its image", async () => {
    const { job } = await renderJob([tool]);
    const [init] = job.spec.template.spec.initContainers;
    assert.equal(init.name, "tools-restic");
    assert.equal(init.image, "example/restic:1.0");
    assert.deepEqual(init.command, [
      "/bin/sh",
      "-c",
      "set -e\nmkdir -p '/opt/tools/bin'\ncp '/usr/bin/restic' '/opt/tools/bin/restic'",
    ]);
    assert.deepEqual(init.volumeMounts, [{ name: "tools", mountPath: "/opt/tools" }]);
  });

  it("gives the container every environment's variables and mounts, the scripts and the tools", async () => {
    const { job } = await renderJob([tool, server]);
    const container = job.spec.template.spec.containers[0];
    assert.deepEqual(container.env, [
      { name: "TOOL_MODE", value: "fast" },
      { name: "SERVER_HOST", value: "127.0.0.1" },
      { name: "HOME", value: "/home/scripts" },
    ]);
    assert.deepEqual(
      container.volumeMounts.map((mount: Record<string, unknown>) => [mount.name, mount.mountPath]),
      [
        ["cm-jobs", "/opt/scripts"],
        ["tools", "/opt/tools"],
        ["tmp", "/tmp"],
        ["home", "/home/scripts"],
        ["cache", "/cache"],
      ],
    );
  });

  it("runs every container as the given user and group, without capabilities, on a read-only root filesystem", async () => {
    const { job } = await renderJob([tool, server]);
    const pod = job.spec.template.spec;
    assert.deepEqual(pod.securityContext, {
      seccompProfile: { type: "RuntimeDefault" },
      runAsUser: 1000,
      runAsGroup: 2000,
      fsGroup: 2000,
      runAsNonRoot: true,
    });
    for (const container of [...pod.initContainers, ...pod.containers]) {
      assert.deepEqual(
        container.securityContext,
        { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        container.name,
      );
    }
    // What the scripts write goes to emptyDirs: temporary files and the home directory.
    assert.deepEqual(
      pod.volumes.filter((volume: Record<string, unknown>) => volume.emptyDir).map((v: any) => v.name),
      ["tools", "tmp", "home", "cache"],
    );
  });

  it("refuses to run a script pod as root", async () => {
    for (const root of [
      { user: 0, group: 2000 },
      { user: 1000, group: 0 },
    ]) {
      const rendered = await render(() => {
        const namespace = namespaceOnCluster();
        const bundle = createScriptBundle({ name: "jobs", namespace, environments: [tool] });
        scriptPod(bundle, { script: "work.sh", runAs: root });
      });
      assert.match(
        rendered.errors.join("\n"),
        /Script bundle "jobs": runAs\.(user|group) must be an id other than root/,
      );
    }
  });

  it("keeps HOME for the pod's own writable home directory", async () => {
    const rendered = await render(() => {
      const namespace = namespaceOnCluster();
      const bundle = createScriptBundle({
        name: "jobs",
        namespace,
        environments: [{ ...tool, env: { HOME: "/root" } }],
      });
      scriptPod(bundle, { script: "work.sh", runAs });
    });
    assert.match(rendered.errors.join("\n"), /HOME is the pod's own home directory, \/home\/scripts/);
    assert.throws(
      () => mergeEnvironments([{ name: "bad", mounts: [{ volume: emptyDir("t"), mountPath: "/tmp" }] }]),
      /\/tmp is reserved for the bundle/,
    );
  });

  it("adds a container's own variables, reading secrets by reference", async () => {
    const rendered = await render(() => {
      const namespace = namespaceOnCluster();
      const bundle = createScriptBundle({ name: "jobs", namespace, environments: [tool] });
      const secret = createSecret({ name: "token", namespace, stringData: { token: "s3cret-value" } });
      createJob({
        name: "run",
        namespace,
        ...scriptPod(bundle, { script: "work.sh", env: { TOKEN: secretKeyRef(secret, "token") }, runAs }),
      });
    });
    const env = rendered.manifest("Job", "run").spec.template.spec.containers[0].env;
    assert.deepEqual(env.at(-1), {
      name: "TOKEN",
      valueFrom: { secretKeyRef: { name: "token", key: "token" } },
    });
  });

  it("refuses a container variable that the bundle already sets", async () => {
    const rendered = await render(() => {
      const namespace = namespaceOnCluster();
      const bundle = createScriptBundle({ name: "jobs", namespace, environments: [tool] });
      scriptPod(bundle, { script: "work.sh", env: { TOOL_MODE: "slow" }, runAs });
    });
    assert.match(rendered.errors.join("\n"), /Variable TOOL_MODE is already set by script bundle "jobs"/);
  });

  it("refuses to run a file the bundle does not have", async () => {
    const rendered = await render(() => {
      const bundle = createScriptBundle({
        name: "jobs",
        namespace: namespaceOnCluster(),
        environments: [tool],
      });
      scriptPod(bundle, { script: "missing.sh", runAs });
    });
    assert.match(rendered.errors.join("\n"), /Script bundle "jobs" has no file "missing.sh"/);
  });
});

describe("mergeEnvironments", () => {
  it("accepts the same file, package and variable from two environments when they are equal", () => {
    const merged = mergeEnvironments([tool, { ...tool, name: "again" }]);
    assert.deepEqual(Object.keys(merged.scripts), ["work.sh", "lib.sh"]);
    assert.equal(merged.packages.length, 1);
    assert.equal(merged.mounts.length, 1);
  });

  it("refuses two environments that define one file differently", () => {
    assert.throws(
      () => mergeEnvironments([tool, { name: "other", scripts: { "work.sh": "echo other\n" } }]),
      /"tool" and "other" define file "work.sh" differently/,
    );
  });

  it("refuses two environments that set one variable differently", () => {
    assert.throws(
      () => mergeEnvironments([tool, { name: "other", env: { TOOL_MODE: "slow" } }]),
      /define variable "TOOL_MODE" differently/,
    );
  });

  it("refuses two environments that ask for different images", () => {
    assert.throws(
      () => mergeEnvironments([server, { name: "other", image: "example/other:1" }]),
      /"server" and "other" define the image differently/,
    );
  });

  it("refuses a setup that is not one of the environment's scripts", () => {
    assert.throws(
      () => mergeEnvironments([{ name: "broken", setup: "start.sh" }]),
      /setup "start.sh" is not one/,
    );
  });

  it("refuses the runner's name and paths outside the tools directory", () => {
    assert.throws(
      () => mergeEnvironments([{ name: "bad", scripts: { "run.sh": "" } }]),
      /is the bundle's runner/,
    );
    assert.throws(
      () =>
        mergeEnvironments([
          { name: "bad", packages: [{ name: "x", image: "x:1", files: { "/bin/x": "../etc/x" } }] },
        ]),
      /cannot copy "\/bin\/x" to "..\/etc\/x"/,
    );
  });
});
