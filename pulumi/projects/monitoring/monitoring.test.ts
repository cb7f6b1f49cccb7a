import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { images } from "@infra/core";
import { traefikEntryPoints } from "@infra/traefik";
import { container, env } from "@tools/synth/src/e2e/app-output";
import {
  type ExampleOutput,
  exampleStacks,
  placement,
  synthExampleStacks,
  wildcardCertificateRef,
} from "@tools/synth/src/e2e/example-stacks";
import { canReach, egressPaths } from "@tools/synth/src/reachability";
import { parse } from "yaml";
import {
  alertingProvider,
  alertValues,
  alertVariables,
  diskCheck,
  endpointKey,
  exposureConditions,
  type NotifyKind,
} from "./src/gatus";

const project = "monitoring";
let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([project]);
});
after(() => output.remove());

const stacks = placement(project);
const manifest = (stack: string, kind: string, name: string) => output.manifest(stack, project, kind, name);
const gatusConfigOf = (configMap: Record<string, any>) => parse(configMap.data["config.yaml"]);
const configOf = (stack: string) => gatusConfigOf(manifest(stack, "ConfigMap", "gatus-config"));

/** Every HTTPS hostname rendered on the stack, by any project, with its Gateway's class. */
function renderedHostnames(stack: string): Map<string, string> {
  const hostnames = new Map<string, string>();
  for (const { project: name } of output.order(stack)) {
    const objects = output.manifests(stack, name);
    for (const route of objects.filter((object) => object.kind === "HTTPRoute")) {
      const parent = route.spec.parentRefs[0];
      const gateway = objects.find(
        (object) =>
          object.kind === "Gateway" &&
          object.metadata.name === parent.name &&
          object.metadata.namespace === route.metadata.namespace,
      );
      assert.ok(gateway, `${stack}/${name}: HTTPRoute ${route.metadata.name} has no Gateway`);
      for (const hostname of route.spec.hostnames) hostnames.set(hostname, gateway.spec.gatewayClassName);
    }
  }
  return hostnames;
}

describe("the uptime monitor on the example stacks", () => {
  it("runs on every server, after every project of its stack", () => {
    assert.deepEqual(stacks, exampleStacks);
    for (const stack of stacks) {
      const order = output.order(stack).map((entry) => entry.project);
      assert.equal(order.at(-1), project, stack);
    }
  });

  for (const stack of stacks) {
    describe(stack, () => {
      it("checks every hostname an HTTPRoute of the stack serves, through its gateway, with the certificate condition", () => {
        const rendered = renderedHostnames(stack);
        assert.ok(rendered.size >= 2, `${stack} serves the dashboard and the status page at least`);
        const endpoints = configOf(stack).endpoints as Record<string, any>[];
        assert.deepEqual(endpoints.map((endpoint) => endpoint.name).sort(), [...rendered.keys()].sort());
        for (const endpoint of endpoints) {
          assert.equal(endpoint.url, `https://${endpoint.name}/`);
          assert.deepEqual(endpoint.conditions, exposureConditions);
          assert.ok(endpoint.conditions.includes("[CERTIFICATE_EXPIRATION] > 336h"));
          // Requested by name: it resolves as a user's request does, to the gateway of its class.
          assert.equal(endpoint.group, rendered.get(endpoint.name) === "internal" ? "tailnet" : "public");
          assert.equal(endpoint.client?.["dns-resolver"], undefined);
        }
        assert.deepEqual(output.outputs(stack, project).checks, [...rendered.keys()].sort());
      });

      it("gets each project's hostnames from the exposures output the kit gives it, not from code of its own", () => {
        for (const { project: name } of output.order(stack)) {
          const routes = output.manifests(stack, name).filter((object) => object.kind === "HTTPRoute");
          const https = routes.filter((route) => route.spec.parentRefs[0].sectionName === "https");
          const exported = (output.outputs(stack, name).exposures ?? []) as { hostname: string }[];
          assert.deepEqual(
            exported.map((exposure) => exposure.hostname).sort(),
            https.flatMap((route) => route.spec.hostnames as string[]).sort(),
            `${stack}/${name}`,
          );
        }
      });

      it("runs the pinned Gatus as nobody on a read-only root, its history in SQLite on a small volume", () => {
        const deployment = manifest(stack, "Deployment", "gatus");
        const gatus = container(deployment);
        assert.equal(gatus.image, images.gatus);
        assert.match(images.gatus, /^twinproduction\/gatus:v5\.\d+\.\d+$/);
        assert.equal(gatus.securityContext.readOnlyRootFilesystem, true);
        assert.equal(deployment.spec.template.spec.securityContext.runAsUser, 65534);
        assert.equal(deployment.spec.strategy.type, "Recreate");
        assert.equal(env(deployment).GATUS_CONFIG_PATH, "/config/config.yaml");
        assert.deepEqual(configOf(stack).storage, { type: "sqlite", path: "/data/data.db" });
        assert.equal(
          manifest(stack, "PersistentVolumeClaim", "gatus-data").spec.resources.requests.storage,
          "256Mi",
        );
        // Not backed up: its history is rebuilt, its checks come from the config.
        assert.ok(
          !output
            .manifests(stack, project)
            .some((object) => object.kind === "CronJob" && /backup/.test(object.metadata.name)),
        );
      });

      it("checks the volumes' disk with a job that pushes to Gatus, which alerts when it fails or stops", () => {
        const job = manifest(stack, "CronJob", "disk-check");
        assert.equal(job.spec.schedule, "*/10 * * * *");
        const pod = job.spec.jobTemplate.spec.template.spec;
        const main = pod.containers[0];
        assert.equal(main.image, images.curlBase);
        const variables = Object.fromEntries(
          main.env.map((variable: Record<string, any>) => [
            variable.name,
            variable.value ?? variable.valueFrom,
          ]),
        );
        assert.equal(variables.GATUS_ENDPOINT_KEY, endpointKey(diskCheck.group, diskCheck.name));
        assert.equal(variables.GATUS_URL, "http://gatus.monitoring.svc.cluster.local:8080");
        // A volume of the default storage class: on the filesystem of every volume, no hostPath.
        const probe = pod.volumes.find((volume: Record<string, any>) => volume.persistentVolumeClaim);
        assert.equal(probe.persistentVolumeClaim.claimName, "disk-probe");
        assert.ok(!pod.volumes.some((volume: Record<string, any>) => volume.hostPath));
        const probeMount = main.volumeMounts.find((mount: Record<string, any>) => mount.name === probe.name);
        assert.deepEqual([probeMount.mountPath, probeMount.readOnly], [variables.DISK_PATH, true]);
        assert.equal(
          manifest(stack, "ConfigMap", "disk-check-script").data["disk-check.sh"],
          readFileSync(join(__dirname, "scripts", "disk-check.sh"), "utf8"),
        );
        const [external] = configOf(stack)["external-endpoints"];
        assert.deepEqual(
          {
            name: external.name,
            group: external.group,
            token: external.token,
            heartbeat: external.heartbeat,
          },
          {
            name: diskCheck.name,
            group: diskCheck.group,
            token: `\${DISK_CHECK_TOKEN}`,
            heartbeat: { interval: "30m" },
          },
        );
        assert.deepEqual(env(manifest(stack, "Deployment", "gatus")).DISK_CHECK_TOKEN, {
          secretKeyRef: { name: "gatus-secrets", key: "disk-check-token" },
        });
      });

      it("shows its status page at status.<server>.<private domain> on the internal gateway only, with the server's wildcard certificate, recorded for the private DNS", () => {
        const exposure = output.exposure(stack, project, "gatus");
        const privateDomain = output.outputs(stack, "shared").privateDomain;
        assert.deepEqual(exposure.hostnames, [`status.${stack}.${privateDomain}`]);
        assert.equal(exposure.gatewayClass, "internal");
        assert.deepEqual(exposure.certificateRefs, [wildcardCertificateRef]);
        assert.equal(exposure.record, undefined);
        assert.equal(exposure.privateAddress, output.outputs(stack, "internal-gateway").clusterIp);
      });

      it("exports every private name of its stack (serverPrivateNames): each project's privateNames and its own status page's, each private exposure's at the internal gateway's address and no public name", () => {
        const recorded = output
          .order(stack)
          .flatMap(({ project: name }) => output.privateNames(stack, name))
          .map((entry) => `${entry.hostname} ${entry.address}`)
          .sort();
        const exported = (
          output.outputs(stack, project).serverPrivateNames as { hostname: string; address: string }[]
        )
          .map((entry) => `${entry.hostname} ${entry.address}`)
          .sort();
        assert.deepEqual(exported, recorded);
        assert.equal(new Set(exported).size, exported.length, "a name is exported twice");
        const privateDomain = output.outputs(stack, "shared").privateDomain as string;
        const clusterIp = output.outputs(stack, "internal-gateway").clusterIp as string;
        const served = renderedHostnames(stack);
        for (const [hostname, gatewayClass] of served) {
          if (gatewayClass === "internal") {
            assert.ok(exported.includes(`${hostname} ${clusterIp}`), `${stack}: ${hostname} is not exported`);
          } else {
            assert.ok(
              !exported.some((entry) => entry.startsWith(`${hostname} `)),
              `${stack}: ${hostname} is public`,
            );
          }
        }
        for (const entry of exported)
          assert.match(entry, new RegExp(`^[a-z0-9.-]+\\.${privateDomain.replaceAll(".", "\\.")} `));
        assert.ok(exported.includes(`status.${stack}.${privateDomain} ${clusterIp}`));
      });

      it("alerts the backups' target (backup:notify), its URL from a Secret, on every check and the disk check", () => {
        const config = configOf(stack);
        const target = output.backupConfig(stack)["backup:notify"] as
          | { kind: string; url: string }
          | undefined;
        const checks = [...config.endpoints, ...config["external-endpoints"]];
        const egress = manifest(stack, "CiliumNetworkPolicy", "gatus-egress").spec.egress as Record<
          string,
          any
        >[];
        const fqdns = egress.flatMap((rule) =>
          (rule.toFQDNs ?? []).map((fqdn: Record<string, string>) => fqdn.matchName),
        );
        if (!target) {
          assert.equal(config.alerting, undefined);
          for (const check of checks) assert.equal(check.alerts, undefined, check.name);
          assert.deepEqual(fqdns, []);
          return;
        }
        const type = target.kind === "ntfy" ? "ntfy" : "custom";
        assert.deepEqual(Object.keys(config.alerting), [type]);
        assert.deepEqual(
          config.alerting[type],
          alertingProvider({ kind: target.kind as NotifyKind, check: `monitor-${stack}` }).settings,
        );
        for (const check of checks) {
          assert.equal(check.alerts[0].type, type, check.name);
          assert.equal(check.alerts[0]["send-on-resolved"], true);
        }
        // The URL never sits in the ConfigMap: Gatus reads it from the environment, from the Secret.
        assert.ok(!manifest(stack, "ConfigMap", "gatus-config").data["config.yaml"].includes(target.url));
        const variables = env(manifest(stack, "Deployment", "gatus"));
        for (const name of alertVariables) {
          assert.deepEqual(variables[name], { secretKeyRef: { name: "gatus-secrets", key: name } });
        }
        assert.deepEqual(fqdns, [new URL(target.url).hostname]);
      });

      it("reaches the internal gateway's Traefik on its HTTPS port, Cloudflare and the alert host, and nothing else in the cluster", () => {
        const model = output.model(stack);
        const gatus = "monitoring/gatus";
        const traefik = "internal-gateway/traefik";
        const websecure = traefikEntryPoints.websecure.port;
        assert.equal(canReach(model, gatus, traefik, websecure), true);
        assert.equal(canReach(model, "monitoring/disk-check", gatus, 8080), true);
        assert.equal(canReach(model, traefik, gatus, 8080), true);
        for (const path of egressPaths(model, gatus)) {
          const inCluster = !path.to.startsWith("world");
          if (inCluster) {
            assert.ok(
              (path.to === traefik && path.port === websecure) ||
                (path.to === "kube-system/coredns" && path.port === 53),
              `${path.to}:${path.port}`,
            );
          } else {
            assert.ok(path.port === 443, `${path.to}:${path.port}`);
          }
        }
        for (const path of egressPaths(model, "monitoring/disk-check")) {
          assert.ok(
            (path.to === gatus && path.port === 8080) ||
              (path.to === "kube-system/coredns" && path.port === 53),
            `${path.to}:${path.port}`,
          );
        }
        for (const outsider of ["world", "tailnet", "kube-system/coredns", "postgresql/postgresql"]) {
          assert.equal(canReach(model, outsider, gatus, 8080), false, outsider);
        }
      });
    });
  }
});

describe("the alert target's mapping to Gatus's providers", () => {
  it("splits an ntfy topic's URL into its server, topic and token", () => {
    const values = alertValues("ntfy", "https://:tk_abc@ntfy.example.net/base/alerts");
    assert.deepEqual(values, {
      ALERT_URL: "",
      ALERT_NTFY_SERVER: "https://ntfy.example.net/base",
      ALERT_NTFY_TOPIC: "alerts",
      ALERT_NTFY_TOKEN: "tk_abc",
    });
    assert.equal(alertValues("ntfy", "https://ntfy.sh/homelab").ALERT_NTFY_SERVER, "https://ntfy.sh");
  });

  it("pings the monitor's own healthchecks check: /fail when an alert triggers, a success when it resolves", () => {
    const { type, settings } = alertingProvider({ kind: "healthchecks", check: "monitor-cloud-a" });
    assert.equal(type, "custom");
    assert.equal(settings.url, `\${ALERT_URL}/[ALERT_TRIGGERED_OR_RESOLVED]`);
    assert.deepEqual(settings.placeholders, {
      ALERT_TRIGGERED_OR_RESOLVED: {
        TRIGGERED: "monitor-cloud-a/fail?create=1",
        RESOLVED: "monitor-cloud-a?create=1",
      },
    });
    assert.equal(
      alertValues("healthchecks", "https://hc-ping.com/key/").ALERT_URL,
      "https://hc-ping.com/key",
    );
  });

  it("posts JSON to a webhook, with the alert's state, endpoint and errors", () => {
    const { type, settings } = alertingProvider({ kind: "webhook", check: "monitor-cloud-a" });
    assert.equal(type, "custom");
    assert.equal(settings.url, `\${ALERT_URL}`);
    assert.equal(settings.method, "POST");
    assert.deepEqual(JSON.parse(settings.body as string), {
      source: "gatus",
      state: "[ALERT_TRIGGERED_OR_RESOLVED]",
      endpoint: "[ENDPOINT_GROUP]/[ENDPOINT_NAME]",
      url: "[ENDPOINT_URL]",
      description: "[ALERT_DESCRIPTION]",
      errors: "[RESULT_ERRORS]",
    });
    assert.equal(
      alertValues("webhook", "https://hooks.example.net/x?y=1").ALERT_URL,
      "https://hooks.example.net/x?y=1",
    );
  });
});

describe("the disk check's script, run for real", () => {
  const script = join(__dirname, "scripts", "disk-check.sh");
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "disk-check-"));
    writeFileSync(join(dir, "token"), "s3cret-token\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is shellcheck-clean", () => {
    const run = spawnSync("shellcheck", [script], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  async function push(
    minFree: string,
  ): Promise<{ request: IncomingMessage; url: URL; status: number | null }> {
    let received: IncomingMessage | undefined;
    const server = createServer((request, response) => {
      received = request;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const run = await new Promise<number | null>((resolve) => {
        const child = spawn("bash", [script], {
          env: {
            PATH: process.env.PATH,
            DISK_PATH: dir,
            DISK_MIN_FREE_PERCENT: minFree,
            GATUS_URL: `http://127.0.0.1:${port}/`,
            GATUS_ENDPOINT_KEY: "node_volumes-disk",
            GATUS_TOKEN_FILE: join(dir, "token"),
          },
          stdio: "ignore",
        });
        child.on("exit", resolve);
      });
      assert.ok(received, "the script sent nothing");
      return { request: received, url: new URL(received.url ?? "", "http://localhost"), status: run };
    } finally {
      server.close();
    }
  }

  it("pushes a success with the bearer token when enough of the filesystem is free", async () => {
    const { request, url, status } = await push("1");
    assert.equal(status, 0);
    assert.equal(request.method, "POST");
    assert.equal(url.pathname, "/api/v1/endpoints/node_volumes-disk/external");
    assert.equal(url.searchParams.get("success"), "true");
    assert.equal(request.headers.authorization, "Bearer s3cret-token");
  });

  it("pushes a failure naming the free space when less than the threshold is free", async () => {
    const { url, status } = await push("99");
    assert.equal(status, 0);
    assert.equal(url.searchParams.get("success"), "false");
    assert.match(
      url.searchParams.get("error") ?? "",
      /^only \d+% \(\d+ MiB\) free on the volumes' filesystem, below 99%$/,
    );
  });
});
