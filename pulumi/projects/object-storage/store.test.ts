import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { images } from "@infra/core";
import { container, env, podSpec } from "@tools/synth/src/e2e/app-output";
import {
  type ExampleOutput,
  placement,
  synthExampleStacks,
  wildcardCertificateRef,
} from "@tools/synth/src/e2e/example-stacks";
import { canReach } from "@tools/synth/src/reachability";
import { parse } from "smol-toml";

// The store's scripts run for real in pulumi/packages/object-storage/src/*.test.ts; this file
// tests what the project renders on each stack that has it.
const project = "object-storage";
let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([project]);
});
after(() => output.remove());

const stacks = placement(project);
const manifest = (stack: string, kind: string, name: string) => output.manifest(stack, project, kind, name);

describe("the object store on the example stacks", () => {
  it("runs on the servers whose apps keep objects: cloud-a (Ente) and local-a (Plane)", () => {
    assert.deepEqual(stacks, ["cloud-a", "local-a"]);
  });

  for (const stack of stacks) {
    describe(stack, () => {
      it("runs the pinned Garage as an unprivileged user on a read-only root, its secrets from its Secret", () => {
        const deployment = manifest(stack, "Deployment", "object-storage");
        const garage = container(deployment);
        assert.equal(garage.image, images.garage);
        assert.match(images.garage, /^dxflrs\/garage:v2\.\d+\.\d+$/);
        assert.deepEqual(garage.command, ["/garage", "-c", "/etc/garage/garage.toml", "server"]);
        assert.equal(podSpec(deployment).securityContext.runAsUser, 1000);
        assert.equal(garage.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(env(deployment).GARAGE_RPC_SECRET, {
          secretKeyRef: { name: "object-storage-secrets", key: "rpc-secret" },
        });
        assert.deepEqual(env(deployment).GARAGE_ADMIN_TOKEN, {
          secretKeyRef: { name: "object-storage-secrets", key: "token" },
        });
        // Recreated, never two at once on one volume.
        assert.equal(deployment.spec.strategy.type, "Recreate");
      });

      it("keeps one copy of everything on its volume, LMDB metadata, and answers S3 on path-style URLs only", () => {
        const config = parse(manifest(stack, "ConfigMap", "object-storage-config").data["garage.toml"]);
        assert.equal(config.replication_factor, 1);
        assert.equal(config.db_engine, "lmdb");
        assert.equal(config.metadata_dir, "/var/lib/garage/meta");
        assert.equal(config.data_dir, "/var/lib/garage/data");
        assert.deepEqual(
          { ...(config.s3_api as object) },
          { s3_region: "garage", api_bind_addr: "[::]:3900" },
        );
        // No secret in the config file: the RPC secret and admin token come from the environment.
        assert.ok(!("rpc_secret" in config) && !("admin_token" in (config.admin as object)));
      });

      it("generates its RPC secret (32 bytes, as Garage's is) and admin token once, kept as secrets in the state", () => {
        const rpc = output.resource(
          stack,
          project,
          "random:index/randomBytes:RandomBytes",
          "object-storage-rpc-secret",
        );
        assert.equal(rpc.inputs.length, 32);
        const secret = manifest(stack, "Secret", "object-storage-secrets");
        assert.match(secret.stringData["rpc-secret"], /^\[secret\]$/);
        assert.match(secret.stringData.token, /^\[secret\]$/);
      });

      it("serves its S3 API at s3.<server>.<private domain> on the internal gateway only, with the server's wildcard certificate, recorded for the private DNS and never published", () => {
        const exposure = output.exposure(stack, project, "object-storage");
        const domain = output.outputs(stack, "shared").privateDomain;
        assert.deepEqual(exposure.hostnames, [`s3.${stack}.${domain}`]);
        assert.equal(exposure.gatewayClass, "internal");
        assert.deepEqual(exposure.certificateRefs, [wildcardCertificateRef]);
        assert.equal(exposure.record, undefined);
        assert.equal(exposure.privateAddress, output.outputs(stack, "internal-gateway").clusterIp);
        assert.deepEqual(
          output.resources(stack, project).filter((each) => /DnsRecord|Certificate$/.test(each.type)),
          [],
        );
        assert.deepEqual(
          exposure.rules
            .flatMap((rule) => rule.backendRefs ?? [])
            .map((ref: Record<string, unknown>) => [ref.name, ref.port]),
          [["object-storage", 3900]],
        );
        assert.deepEqual(output.outputs(stack, project).server.endpoint, `https://s3.${stack}.${domain}`);
      });

      it("backs its volume up with a consistent metadata snapshot instead of the live database, restores it before the store starts, and sizes the layout from the volume", () => {
        const backup = env(manifest(stack, "CronJob", "object-storage-backup"));
        assert.equal(backup.BACKUP_VOLUMES, "garage");
        assert.equal(backup.BACKUP_EXCLUDE, "garage/meta/db.lmdb\ngarage/meta/snapshots");
        assert.equal(backup.BACKUP_HOOK, "/opt/scripts/garage-backup-hook.sh");
        assert.equal(backup.GARAGE_ADMIN_URL, "http://garage-admin.object-storage.svc.cluster.local:3903");
        assert.equal(backup.RESTIC_REPOSITORY, `rclone:storage:homelab-backups/object-storage-${stack}`);
        // The final backup runs with the store stopped: no admin API, the database at rest.
        assert.equal(
          env(manifest(stack, "CronJob", "object-storage-final-backup")).GARAGE_ADMIN_URL,
          undefined,
        );
        const restore = env(manifest(stack, "Job", "object-storage-restore"));
        assert.equal(restore.RESTORE_PRESENT_HOOK, "/opt/scripts/garage-present-hook.sh");
        assert.equal(restore.RESTORE_HOOK, "/opt/scripts/garage-restore-hook.sh");
        const store = output.resource(
          stack,
          project,
          "kubernetes:apps/v1:Deployment",
          "object-storage/object-storage",
        );
        const restoreJob = output.resource(
          stack,
          project,
          "kubernetes:batch/v1:Job",
          "object-storage/object-storage-restore",
        );
        assert.ok(store.dependsOn.includes(restoreJob.urn));
        const size = output.config(stack, project)["object-storage:storage"].size as string;
        assert.equal(size, "50Gi");
        assert.equal(
          env(manifest(stack, "Job", "object-storage-layout")).GARAGE_CAPACITY_BYTES,
          String(50 * 2 ** 30),
        );
      });

      it("is reached on its S3 port only by the internal gateway's Traefik and its own jobs, and on its admin port only by its jobs", () => {
        const model = output.model(stack);
        const store = "object-storage/object-storage";
        const traefik = "internal-gateway/traefik";
        assert.equal(canReach(model, traefik, store, 3900), true);
        assert.equal(canReach(model, traefik, store, 3903), false);
        assert.equal(canReach(model, "object-storage/object-storage-layout", store, 3903), true);
        for (const outsider of ["kube-system/coredns", "tailnet", "world"]) {
          assert.equal(canReach(model, outsider, store, 3900), false, outsider);
          assert.equal(canReach(model, outsider, store, 3903), false, outsider);
        }
      });
    });
  }
});
