import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, exampleApp, fromSecret, podSpec } from "@tools/synth/src/e2e/app-output";
import { wildcardCertificateRef } from "@tools/synth/src/e2e/example-stacks";
import { canReach } from "@tools/synth/src/reachability";

// What every kit app does (placement, dependencies, backups, secrets, reachability bounds) is
// tested for all of them in tools/synth/src/e2e/apps.test.ts; this file tests etebase's own.
const project = "etebase";
const stack = "cloud-a";
const port = 3735;
const { output, manifest, resource, config, privateDomain } = exampleApp(project, stack);

const policyType = "kubernetes:cilium.io/v2:CiliumNetworkPolicy";

describe("the etebase app on the example stacks", () => {
  it("runs the pinned community image as its own user 373, never as root, with no capabilities", () => {
    const deployment = manifest("Deployment", project);
    assert.equal(container(deployment).image, images.etebase);
    assert.match(images.etebase, /^victorrds\/etebase:\d+\.\d+\.\d+-alpine$/);
    // apps.test.ts: every kit app's pods run as one non-root user, their containers with no capability.
    assert.equal(podSpec(deployment).securityContext.runAsUser, 373);
  });

  it("reserves memory for Django and caps it at 512 MiB, never its CPU", () => {
    assert.deepEqual(container(manifest("Deployment", project)).resources, {
      requests: { cpu: "10m", memory: "128Mi" },
      limits: { memory: "512Mi" },
    });
  });

  it("gives uvicorn the app's own PostgreSQL database, every setting read from the database Secret", () => {
    const variables = env(manifest("Deployment", project));
    assert.equal(variables.SERVER, "uvicorn");
    assert.equal(variables.PORT, String(port));
    assert.equal(variables.DB_ENGINE, "postgres");
    const keys = { HOST: "host", PORT: "port", NAME: "database", USER: "username", PASSWORD: "password" };
    for (const [name, key] of Object.entries(keys)) {
      assert.deepEqual(variables[`DATABASE_${name}`], fromSecret("etebase-database", key), name);
    }
  });

  it("allows exactly its private hostname, etebase.<private domain>, and migrates the database at every start", () => {
    const variables = env(manifest("Deployment", project));
    assert.equal(config()["etebase:hostname"], undefined);
    assert.equal(variables.ALLOWED_HOSTS, `etebase.${privateDomain()}`);
    assert.equal(variables.AUTO_UPDATE, "true");
    assert.equal(output.outputs(stack, project).url, `https://etebase.${privateDomain()}`);
  });

  it("creates the configured first superuser with the stable generated password, exported only as a secret", () => {
    const variables = env(manifest("Deployment", project));
    assert.equal(variables.SUPER_USER, config()["etebase:superuser"].username);
    assert.deepEqual(variables.SUPER_PASS, fromSecret("etebase-stable", "superuserPassword"));
    assert.deepEqual(manifest("Secret", "etebase-stable").stringData, { superuserPassword: "[secret]" });
    assert.equal(output.outputs(stack, project).superuser, "[secret]");
  });

  it("writes its settings file to a volume of the pod, so every new pod writes it again from the environment", () => {
    const deployment = manifest("Deployment", project);
    assert.equal(env(deployment).ETEBASE_EASY_CONFIG_PATH, "/etc/etebase-server/etebase-server.ini");
    assert.deepEqual(container(deployment).volumeMounts, [
      { mountPath: "/data", name: "pvc-data" },
      { mountPath: "/etc/etebase-server", name: "settings" },
    ]);
    assert.deepEqual(podSpec(deployment).volumes, [
      { name: "pvc-data", persistentVolumeClaim: { claimName: "data" } },
      { name: "settings", emptyDir: {} },
    ]);
    assert.equal(
      manifest("PersistentVolumeClaim", "data").spec.resources.requests.storage,
      config()["etebase:storage"].size,
    );
  });

  it("probes the port uvicorn opens once the migrations ran, giving a fresh database minutes to migrate", () => {
    const deployment = container(manifest("Deployment", project));
    const listening = { tcpSocket: { port } };
    assert.deepEqual(deployment.startupProbe, { ...listening, periodSeconds: 5, failureThreshold: 60 });
    assert.deepEqual(deployment.readinessProbe, { ...listening, periodSeconds: 10 });
    assert.deepEqual(deployment.livenessProbe, { ...listening, periodSeconds: 30, failureThreshold: 5 });
    assert.deepEqual(deployment.ports, [{ name: "http", containerPort: port, protocol: "TCP" }]);
  });

  // apps.test.ts: the final backup and the restore hold what the backup holds, in the app's one
  // repository, with its database dump made with its credentials.
  it("backs up all of /data (media, secret.txt) with its database dump", () => {
    const backup = env(manifest("CronJob", "etebase-backup"));
    assert.deepEqual([backup.BACKUP_VOLUMES, backup.BACKUP_EXCLUDE], ["data", undefined]);
  });

  it("exposes it to the tailnet only, at etebase.<private domain>, recorded for the private DNS at the internal gateway's address, with the server's wildcard certificate", () => {
    const gateway = output.outputs(stack, "internal-gateway");
    const hostname = `etebase.${privateDomain()}`;
    const { rules, ...exposure } = output.exposure(stack, project, project);
    assert.deepEqual(exposure, {
      hostnames: [hostname],
      gatewayClass: gateway.gatewayClass,
      certificateRefs: [wildcardCertificateRef],
      record: undefined,
      privateAddress: gateway.clusterIp,
    });
    // Nothing names it outside the tailnet: no Cloudflare record, no certificate of its own.
    assert.deepEqual(
      output.resources(stack, project).filter((each) => /DnsRecord|Certificate$/.test(each.type)),
      [],
    );
    assert.deepEqual(output.manifest(stack, project, "ReferenceGrant", project).spec.from, [
      { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: project },
    ]);
    assert.deepEqual(rules[0]?.backendRefs, [{ group: "", kind: "Service", name: project, port }]);
    assert.ok(!output.order(stack).find((entry) => entry.project === project)?.reads["public-gateway"]);
  });

  // apps.test.ts: only gateways, the router and the node reach it; it reaches only DNS and its database.
  it("lets in only the internal gateway's Traefik, and lets it out only to PostgreSQL: nothing to the world", () => {
    const model = output.model(stack);
    const server = `${project}/${project}`;
    assert.ok(canReach(model, "internal-gateway/traefik", server, port));
    assert.equal(canReach(model, server, "world:smtp.example.com", 587), false);
    // Its own policies name no peer outside the cluster.
    const own = output.policiesSelecting(stack, project, { "app.kubernetes.io/name": project });
    assert.deepEqual(own.map((policy) => policy.metadata.name).sort(), [
      "etebase-from-internal-gateway",
      "etebase-to-postgresql",
    ]);
    for (const rule of own.flatMap((policy) => policy.spec.egress ?? [])) {
      assert.deepEqual(Object.keys(rule).sort(), ["toEndpoints", "toPorts"]);
    }
  });

  it("creates its database with a job that runs after the policies letting that job reach the server", () => {
    const job = resource("kubernetes:batch/v1:Job", "postgresql/etebase-etebase-database");
    for (const name of [
      "postgresql/etebase-etebase-database-to-server",
      "postgresql/postgresql-from-etebase-etebase-database",
    ]) {
      assert.ok(job.dependsOn.includes(resource(policyType, name).urn), name);
    }
    const restore = resource("kubernetes:batch/v1:Job", "etebase/etebase-restore");
    assert.ok(restore.dependsOn.includes(job.urn));
  });
});
