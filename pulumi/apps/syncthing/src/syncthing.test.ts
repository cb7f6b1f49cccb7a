import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach, describeFlow, egressPaths, type Model, openPaths } from "@tools/synth/src/reachability";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests Syncthing's own.
const project = "syncthing";
const stack = "local-a";
const pod = "syncthing/syncthing";
const gui = 8384;
const sync = 22000;
const { output, manifest, config, privateDomain } = exampleApp(project, stack);

const deployment = () => manifest("Deployment", "syncthing");
const main = () => container(deployment());
const configure = () => podSpec(deployment()).initContainers[0];

/** The internal gateway's Traefik pods in the model. */
function internalTraefik(model: Model): string[] {
  const namespace = output.outputs(stack, "internal-gateway").namespace as string;
  return model.endpoints
    .filter(
      (endpoint) =>
        endpoint.kind === "pod" &&
        endpoint.namespace === namespace &&
        endpoint.labels["k8s:app.kubernetes.io/name"] === "traefik",
    )
    .map((endpoint) => endpoint.name);
}

describe("the syncthing app on the example stacks", () => {
  it("runs the pinned image as user 1000 without any capability, the image's entrypoint starting Syncthing", () => {
    // apps.test.ts: every kit app's pods run as one non-root user, their containers with no capability.
    assert.equal(podSpec(deployment()).securityContext.runAsUser, 1000);
    for (const started of [main(), configure()]) assert.equal(started.image, images.syncthing);
    assert.match(images.syncthing, /^syncthing\/syncthing:2\.\d+\.\d+$/);
    // Started as a non-root user, the entrypoint execs Syncthing without dropping privileges.
    assert.equal(main().command, undefined);
    assert.equal(main().args, undefined);
  });

  it("caps Syncthing's memory at 1 GiB and its configure step's memory and CPU, which runs once before it", () => {
    assert.deepEqual(main().resources, {
      requests: { cpu: "20m", memory: "128Mi" },
      limits: { memory: "1Gi" },
    });
    assert.deepEqual(configure().resources, {
      requests: { cpu: "10m", memory: "32Mi" },
      limits: { memory: "128Mi", cpu: "200m" },
    });
  });

  it("serves the GUI over plain HTTP on every address at 8384, and keeps Syncthing's home on the volume", () => {
    assert.deepEqual(env(deployment()), {
      HOME: "/var/syncthing",
      STHOMEDIR: "/var/syncthing/config",
      STGUIADDRESS: "http://0.0.0.0:8384",
      STNOUPGRADE: "true",
    });
    for (const mounting of [main(), configure()]) {
      assert.deepEqual(
        mounting.volumeMounts.find((mount: Record<string, any>) => mount.mountPath === "/var/syncthing"),
        { mountPath: "/var/syncthing", name: "pvc-data" },
      );
    }
    assert.deepEqual(
      podSpec(deployment()).volumes.find((volume: Record<string, any>) => volume.name === "pvc-data"),
      { name: "pvc-data", persistentVolumeClaim: { claimName: "data" } },
    );
    assert.equal(
      manifest("PersistentVolumeClaim", "data").spec.resources.requests.storage,
      config()["syncthing:storage"].size,
    );
  });

  it("listens for the sync protocol on 22000 over TCP and over UDP (QUIC)", () => {
    assert.deepEqual(main().ports, [
      { containerPort: gui, name: "http", protocol: "TCP" },
      { containerPort: sync, name: "sync-tcp", protocol: "TCP" },
      { containerPort: sync, name: "sync-quic", protocol: "UDP" },
    ]);
  });

  it("probes the GUI's health endpoint, which answers without credentials", () => {
    const health = { path: "/rest/noauth/health", port: gui };
    assert.deepEqual(main().readinessProbe, { httpGet: health, periodSeconds: 10 });
    assert.deepEqual(main().livenessProbe, { httpGet: health, periodSeconds: 30, failureThreshold: 5 });
    assert.deepEqual(main().startupProbe, { httpGet: health, periodSeconds: 5, failureThreshold: 120 });
  });

  it("sets the GUI's user and password from the app's stable Secret before each start, never in plain text", () => {
    const variables = env(deployment(), "configure");
    assert.deepEqual(variables.GUI_USER, fromSecret("syncthing-stable", "guiUser"));
    assert.deepEqual(variables.GUI_PASSWORD, fromSecret("syncthing-stable", "guiPassword"));
    assert.deepEqual(manifest("Secret", "syncthing-stable").stringData, {
      guiUser: "[secret]",
      guiPassword: "[secret]",
    });
    const outputs = output.outputs(stack, project);
    assert.equal(outputs.guiUser, "[secret]");
    assert.equal(outputs.guiPassword, "[secret]");
  });

  it("applies its options with Syncthing's own commands: discovery, relays, NAT traversal, reports and upgrades off", () => {
    assert.equal(configure().name, "configure");
    assert.deepEqual(configure().command, ["/bin/sh", "/scripts/configure.sh"]);
    assert.equal(
      manifest("ConfigMap", "syncthing-configure").data["configure.sh"],
      readFileSync(join(__dirname, "..", "scripts", "configure.sh"), "utf8"),
    );
    assert.equal(env(deployment(), "configure").STHOMEDIR, "/var/syncthing/config");
    assert.deepEqual(JSON.parse(env(deployment(), "configure").SYNCTHING_OPTIONS), {
      globalAnnounceEnabled: false,
      relaysEnabled: false,
      localAnnounceEnabled: false,
      announceLANAddresses: false,
      natEnabled: false,
      urAccepted: -1,
      crashReportingEnabled: false,
      autoUpgradeIntervalH: 0,
      startBrowser: false,
    });
    assert.equal(config()["syncthing:globalDiscovery"], false);
    assert.equal(config()["syncthing:relays"], false);
  });

  // apps.test.ts: the final backup and the restore hold what the backup holds, in the app's one repository.
  it("backs up the whole volume but the index database, which Syncthing rebuilds", () => {
    const backup = env(manifest("CronJob", "syncthing-backup"));
    assert.deepEqual([backup.BACKUP_VOLUMES, backup.BACKUP_EXCLUDE], ["data", "data/config/index-v2"]);
  });

  it("exposes the GUI to the tailnet only, at syncthing.<private domain> through the internal gateway, with the server's wildcard certificate, recorded for the private DNS", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const hostname = `syncthing.${privateDomain()}`;
    const { rules, ...exposure } = output.exposure(stack, project, "syncthing");
    assert.deepEqual(exposure, {
      hostnames: [hostname],
      gatewayClass: gateway.gatewayClass,
      certificateRefs: [wildcardCertificateRef],
      record: undefined,
      privateAddress: gateway.clusterIp,
    });
    assert.deepEqual(rules[0]?.backendRefs, [{ group: "", kind: "Service", name: "syncthing", port: gui }]);
    assert.equal(output.outputs(stack, project).url, `https://${hostname}`);
  });

  it("offers the sync protocol on the fixed address 10.47.0.54, 22000 TCP and UDP, at sync.<private domain>, recorded for the private DNS and never published", () => {
    const service = manifest("Service", "syncthing-tailnet");
    assert.equal(service.spec.clusterIP, "10.47.0.54");
    assert.deepEqual(service.spec.selector, { "app.kubernetes.io/name": "syncthing" });
    assert.deepEqual(service.spec.ports, [
      { name: "sync-tcp", port: sync, protocol: "TCP", targetPort: sync },
      { name: "sync-quic", port: sync, protocol: "UDP", targetPort: sync },
    ]);
    // Both of its names are private: the GUI's at the internal gateway, the sync name at its own address.
    assert.deepEqual(output.privateNames(stack, project), [
      {
        hostname: `syncthing.${privateDomain()}`,
        address: output.outputs(stack, "internal-gateway").clusterIp,
      },
      { hostname: `sync.${privateDomain()}`, address: "10.47.0.54" },
    ]);
    assert.deepEqual(
      output.resources(stack, project).filter((each) => /DnsRecord|Certificate$/.test(each.type)),
      [],
    );
    assert.deepEqual(output.outputs(stack, project).syncAddresses, [
      `tcp://sync.${privateDomain()}:${sync}`,
      `quic://sync.${privateDomain()}:${sync}`,
    ]);
  });

  it("lets the subnet router send to it, and it accept from the router, on 22000 TCP and UDP only", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const ports = [
      {
        ports: [
          { port: String(sync), protocol: "TCP" },
          { port: String(sync), protocol: "UDP" },
        ],
      },
    ];
    const router = { "app.kubernetes.io/name": gateway.routerPodLabels["app.kubernetes.io/name"] };
    const egress = output
      .manifests(stack, project)
      .find(
        (object) =>
          object.kind === "CiliumNetworkPolicy" && object.metadata.name === "tailscale-router-to-syncthing",
      );
    assert.ok(egress, "the router's egress policy");
    assert.equal(egress.metadata.namespace, gateway.namespace);
    assert.deepEqual(egress.spec.endpointSelector, { matchLabels: router });
    assert.deepEqual(egress.spec.egress, [
      {
        toEndpoints: [
          {
            matchLabels: {
              "app.kubernetes.io/name": "syncthing",
              "k8s:io.kubernetes.pod.namespace": project,
            },
          },
        ],
        toPorts: ports,
      },
    ]);
    const ingress = manifest("CiliumNetworkPolicy", "syncthing-from-tailnet");
    assert.equal(ingress.metadata.namespace, project);
    assert.deepEqual(ingress.spec.endpointSelector, {
      matchLabels: { "app.kubernetes.io/name": "syncthing" },
    });
    assert.deepEqual(ingress.spec.ingress, [
      {
        fromEndpoints: [{ matchLabels: { ...router, "k8s:io.kubernetes.pod.namespace": gateway.namespace } }],
        toPorts: ports,
      },
    ]);
  });

  it("lets tailnet devices reach its pods on 22000 TCP and UDP, and only the internal gateway's Traefik reach its GUI", () => {
    const model = output.model(stack);
    for (const protocol of ["TCP", "UDP"] as const) {
      assert.ok(canReach(model, "tailnet", pod, sync, protocol), protocol);
      assert.ok(canReach(model, "tailnet", "service:syncthing/syncthing-tailnet", sync, protocol), protocol);
    }
    assert.equal(canReach(model, "tailnet", pod, gui), false);
    const traefik = internalTraefik(model);
    assert.ok(traefik.length > 0, "the internal gateway's Traefik is in the model");
    for (const source of traefik) assert.ok(canReach(model, source, pod, gui), source);
    // From outside its namespace, only Traefik and the node (the kubelet's probes; on k3s the API
    // server is the node) reach the GUI.
    const node = ["host", "kube-apiserver"];
    const intoGui = openPaths(model, pod).filter(
      (path) => path.port === gui && !path.from.startsWith(`${project}/`),
    );
    assert.deepEqual(
      intoGui.filter((path) => !node.includes(path.from) && !traefik.includes(path.from)).map(describeFlow),
      [],
    );
    assert.ok(intoGui.some((path) => traefik.includes(path.from)));
  });

  it("reaches nothing outside the cluster by default: no discovery, relays or STUN", () => {
    assert.ok(
      !output
        .manifests(stack, project)
        .some(
          (object) => object.kind === "CiliumNetworkPolicy" && object.metadata.name === "syncthing-egress",
        ),
    );
    const model = output.model(stack);
    for (const [to, port, protocol] of [
      ["world:discovery-lookup.syncthing.net", 443, "TCP"],
      ["world:relays.syncthing.net", 443, "TCP"],
      ["world:203.0.113.10", 22067, "TCP"],
      ["world:stun.syncthing.net", 3478, "UDP"],
      ["world", 443, "TCP"],
    ] as const) {
      assert.equal(canReach(model, pod, to, port, protocol), false, `${to}:${port}/${protocol}`);
    }
    const outside = egressPaths(model, pod).filter((path) => path.to.startsWith("world"));
    assert.deepEqual(outside.map(describeFlow), []);
  });
});
