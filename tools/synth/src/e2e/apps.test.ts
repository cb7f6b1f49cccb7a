import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { appSecretsFile, backupSecrets } from "@infra/app-secrets";
import { readPlacement } from "@infra/core";
import {
  describeFlow,
  type Endpoint,
  egressPaths,
  type FlowResult,
  type Model,
  openPaths,
  selectorMatches,
} from "../reachability";
import { secretPlaceholder } from "../stack-config";
import { container, env, podSpec, podTemplate } from "./app-output";
import {
  type ExampleOutput,
  exampleStacks,
  placement,
  synthExampleStacks,
  wildcardCertificateRef,
} from "./example-stacks";

const repoRoot = resolve(__dirname, "..", "..", "..", "..");
const appsDir = join(repoRoot, "pulumi", "apps");

/** Apps written with the app kit: app packages built on @projects/common. */
const kitApps = readdirSync(appsDir).filter((app) => {
  const manifest = join(appsDir, app, "package.json");
  return (
    existsSync(manifest) &&
    "@projects/common" in (JSON.parse(readFileSync(manifest, "utf8")).dependencies ?? {})
  );
});

/** The server each app runs on: pulumi/placement.yaml, the one place that says so. */
const placedOn: Record<string, string[]> = Object.fromEntries(
  Object.entries(readPlacement()).map(([app, entry]) => [app, [entry.server]]),
);

interface Destination {
  to: string;
  port: number;
  protocol?: "TCP" | "UDP";
}

/**
 * What each app's own pods are meant to reach outside their namespace besides DNS, their database
 * and (for the backup jobs) the storage: the egress its example config declares, read from the
 * config the way a user writes it.
 */
const declaredEgress: Record<string, (config: Record<string, any>) => Destination[]> = {
  vaultwarden: (config) => {
    const smtp = config["vaultwarden:smtp"];
    const push = config["vaultwarden:push"];
    const relay =
      push?.region === "eu"
        ? ["api.bitwarden.eu", "identity.bitwarden.eu"]
        : ["push.bitwarden.com", "identity.bitwarden.com"];
    return [
      ...(smtp ? [{ to: `world:${smtp.host}`, port: smtp.port ?? 587 }] : []),
      ...(push ? relay.map((host) => ({ to: `world:${host}`, port: 443 })) : []),
    ];
  },
  etebase: () => [],
  ghost: (config) => {
    const smtp = config["ghost:smtp"];
    return smtp ? [{ to: `world:${smtp.host}`, port: smtp.port ?? 587 }] : [];
  },
  n8n: (config) =>
    (config["n8n:egress"] ?? []).flatMap((rule: { hosts: string[]; ports: { port: number }[] }) =>
      rule.hosts.flatMap((host) => rule.ports.map((port) => ({ to: `world:${host}`, port: port.port }))),
    ),
  syncthing: () => [],
  ente: (config) => {
    const smtp = config["ente:smtp"];
    return smtp ? [{ to: `world:${smtp.host}`, port: smtp.port ?? 587 }] : [];
  },
  plane: (config) =>
    (config["plane:egress"] ?? []).flatMap((rule: { hosts: string[]; ports?: number[] }) =>
      rule.hosts.flatMap((host) => (rule.ports ?? [443]).map((port) => ({ to: `world:${host}`, port }))),
    ),
  zitadel: (config) =>
    (config["zitadel:egress"] ?? []).flatMap((rule: { hosts: string[]; ports?: number[] }) =>
      rule.hosts.flatMap((host) => (rule.ports ?? [443]).map((port) => ({ to: `world:${host}`, port }))),
    ),
};

/**
 * The workloads of an app that read its bucket key from a config file (a Secret of their own)
 * rather than from the bucket's Secret: they reach the object store too.
 */
const configFileBucketUsers: Record<string, string[]> = { ente: ["museum"] };

const databasePorts: Record<string, number> = { postgresql: 5432, mariadb: 3306, mysql: 3306 };
const policyType = "kubernetes:cilium.io/v2:CiliumNetworkPolicy";

/**
 * The placeholders synth answers for an app's secrets file on a stack (tools/synth/src/invokes.ts
 * answers the sops decryption of `secrets/apps/<app>.yaml` with one per key it will hold: its
 * backups' password and storage key, and the stable secrets the app declares).
 */
function stableSecretPlaceholders(stack: string, app: string): string[] {
  return Object.keys(appSecretsFile(repoRoot, app).spec).map((key) =>
    createHash("sha256")
      .update(`synth-app-secret:${stack}:secrets/apps/${app}.yaml:${key}`)
      .digest("base64url"),
  );
}

/** The `secure:` keys of a project's stack file. */
const secureKeys = (config: Record<string, any>) =>
  Object.keys(config).filter(
    (key) => typeof config[key] === "object" && config[key] && "secure" in config[key],
  );

/** Labels as Cilium sees them: every key in a source (`k8s:` unless it names one). */
const ciliumLabels = (labels: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(labels).map(([key, value]) => [key.includes(":") ? key : `k8s:${key}`, String(value)]),
  );

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks();
});
after(() => output.remove());

const runsOn = (stack: string, project: string) =>
  output.order(stack).some((entry) => entry.project === project);

const pods = (model: Model, namespace: string) =>
  model.endpoints.filter((endpoint) => endpoint.kind === "pod" && endpoint.namespace === namespace);

/** Whether an object's pods read the app's database credentials (an env value or a mounted Secret). */
function readsDatabase(object: Record<string, any>, app: string): boolean {
  return readsSecret(object, `${app}-database`);
}

/** Whether an object's pods read a Secret: an env value from it, or a mount of it. */
function readsSecret(object: Record<string, any>, secretName: string): boolean {
  const spec = podTemplate(object)?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some(
    (container: Record<string, any>) =>
      (container.env ?? []).some(
        (variable: Record<string, any>) => variable.valueFrom?.secretKeyRef?.name === secretName,
      ) ||
      (container.volumeMounts ?? []).some((mount: Record<string, any>) =>
        (spec.volumes ?? []).some(
          (volume: Record<string, any>) =>
            volume.name === mount.name && volume.secret?.secretName === secretName,
        ),
      ),
  );
}

/** The kind of database server an app has its own database on, if it has one. */
const databaseOf = (stack: string, app: string) =>
  Object.keys(databasePorts).find((kind) =>
    output.resources(stack, app).some((resource) => resource.name === `${kind}/${app}-${app}-database`),
  );

/** The hosts of `backup:notify`'s URLs (the target's and the heartbeat's), none without it. */
function notifyHosts(notify: { url?: string; heartbeat?: string } | undefined): string[] {
  const urls = [notify?.url, notify?.heartbeat].filter((url): url is string => url !== undefined);
  return [...new Set(urls.map((url) => new URL(url).hostname))];
}

describe("apps written with the app kit, on the example stacks", () => {
  it("synthesize and validate without a problem", () => {
    assert.deepEqual(output.problems, []);
  });

  it("are the app packages built on @projects/common, each with the stacks it is placed on", () => {
    assert.deepEqual([...kitApps].sort(), Object.keys(placedOn).sort());
  });

  for (const app of kitApps) {
    describe(app, () => {
      it(`renders on ${(placedOn[app] ?? []).join(" and ")} only, where pulumi/placement.yaml puts it: on the other example stacks it creates nothing, whether it has a stack file there or not`, () => {
        const expected = placedOn[app] ?? [];
        assert.deepEqual(placement(app), expected);
        for (const stack of exampleStacks) {
          const placed = expected.includes(stack);
          const created = runsOn(stack, app)
            ? output.resources(stack, app).filter((resource) => !resource.read)
            : [];
          assert.equal(created.length > 0, placed, stack);
          if (!placed) continue;
          const components = output
            .resources(stack, app)
            .filter((resource) => resource.type === "homelab:apps:App");
          assert.deepEqual(
            components.map((resource) => resource.name),
            [app],
            stack,
          );
        }
      });
    });

    for (const stack of placement(app)) {
      describe(`${app} on ${stack}`, () => {
        it("puts every resource it creates under its component", () => {
          const resources = output.resources(stack, app);
          const component = resources.find((resource) => resource.type === "homelab:apps:App");
          assert.ok(component);
          const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
          const under = (urn: string | null | undefined): boolean =>
            urn === component.urn || (typeof urn === "string" && under(byUrn.get(urn)?.parent));
          const outside = resources.filter(
            (resource) =>
              resource !== component && !resource.type.startsWith("pulumi:") && !under(resource.parent),
          );
          assert.deepEqual(
            outside.map((resource) => `${resource.type} ${resource.name}`),
            [],
          );
        });

        it("starts each workload only after its restore, the database it reads, the final backup and every policy that selects its pods or lets them through", () => {
          const resources = output.resources(stack, app);
          const manifests = output.manifests(stack, app);
          const urnOf = (type: string, name: string) =>
            resources.find((resource) => resource.type === type && resource.name === name)?.urn;
          const database = databaseOf(stack, app);
          const restore = urnOf("kubernetes:batch/v1:Job", `${app}/${app}-restore`);
          const final = urnOf("command:local:Command", `${app}/${app}-final-backup`);
          const created = database
            ? urnOf("kubernetes:batch/v1:Job", `${database}/${app}-${app}-database`)
            : undefined;
          const workloads = resources.filter((resource) => resource.type === "kubernetes:apps/v1:Deployment");
          assert.ok(workloads.length > 0);
          for (const workload of workloads) {
            const name = workload.name.split("/")[1] ?? "";
            const object = output.manifest(stack, app, "Deployment", name);
            const labels = ciliumLabels(object.spec.template.metadata.labels ?? {});
            const inNamespace = { ...labels, "k8s:io.kubernetes.pod.namespace": app };
            const policies = manifests.filter((candidate) => candidate.kind === "CiliumNetworkPolicy");
            // Its own policies, in its namespace, select it.
            const selecting = policies.filter(
              (candidate) =>
                candidate.metadata.namespace === app &&
                Object.keys(candidate.spec.endpointSelector.matchLabels ?? {}).length > 0 &&
                selectorMatches(
                  { matchLabels: ciliumLabels(candidate.spec.endpointSelector.matchLabels) },
                  labels,
                ),
            );
            assert.ok(selecting.length > 0, `no policy selects ${workload.name}`);
            // Those of other pods (its database server, the tailnet router) name it as their peer.
            const peering = policies.filter((candidate) =>
              [
                ...(candidate.spec.ingress ?? []).flatMap(
                  (rule: Record<string, any>) => rule.fromEndpoints ?? [],
                ),
                ...(candidate.spec.egress ?? []).flatMap(
                  (rule: Record<string, any>) => rule.toEndpoints ?? [],
                ),
              ].some(
                (peer: Record<string, any>) =>
                  Object.keys(peer.matchLabels ?? {}).length > 0 &&
                  selectorMatches(
                    {
                      matchLabels: {
                        "k8s:io.kubernetes.pod.namespace": candidate.metadata.namespace,
                        ...ciliumLabels(peer.matchLabels),
                      },
                    },
                    inNamespace,
                  ),
              ),
            );
            const required = [
              ...(restore ? [restore] : []),
              ...(final ? [final] : []),
              ...(database && readsDatabase(object, app) ? [created] : []),
              ...[...selecting, ...peering].map((policy) =>
                urnOf(policyType, `${policy.metadata.namespace}/${policy.metadata.name}`),
              ),
            ];
            // A path opened to it by a caller created after it (two services that call each
            // other) comes with the caller, which waits for its policies: it was not called before.
            const openedByLaterCaller = (urn: string | undefined) =>
              urn !== undefined &&
              workloads.some((other) => other !== workload && other.dependsOn.includes(urn));
            for (const urn of required) {
              assert.ok(
                urn && (workload.dependsOn.includes(urn) || openedByLaterCaller(urn)),
                `${workload.name} → ${urn}`,
              );
            }
          }
        });

        it("runs its pods as a user other than root with the runtime's seccomp profile, and their containers with no capability and no privilege escalation", () => {
          const workloads = output.manifests(stack, app).filter((object) => object.kind === "Deployment");
          for (const workload of workloads) {
            const { securityContext, containers, initContainers } = podSpec(workload);
            const user = securityContext.runAsUser;
            assert.ok(Number.isInteger(user) && user > 0, workload.metadata.name);
            assert.deepEqual(securityContext, {
              fsGroup: user,
              runAsGroup: user,
              runAsNonRoot: true,
              runAsUser: user,
              seccompProfile: { type: "RuntimeDefault" },
            });
            for (const { name } of [...containers, ...(initContainers ?? [])]) {
              // What a container may add only narrows it further: its own user, a read-only root.
              const { readOnlyRootFilesystem, runAsUser, runAsGroup, ...rest } = container(
                workload,
                name,
              ).securityContext;
              assert.deepEqual(
                rest,
                { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                name,
              );
              assert.notEqual(readOnlyRootFilesystem, false, name);
              assert.ok(runAsUser !== 0 && runAsGroup !== 0, name);
            }
          }
        });

        it("backs up in one repository named after it, never after the server, restores what it backs up, and exports its backups", () => {
          const remote = output.backupConfig(stack)["backup:remote"];
          const repository = `rclone:${remote}/${app}`;
          const database = databaseOf(stack, app);
          const [backup, final, restore] = output.backupJobs(stack, app).map((job) => env(job));
          assert.ok(backup && final && restore);
          for (const [name, variables] of Object.entries({ backup, final, restore })) {
            assert.equal(variables.RESTIC_REPOSITORY, repository, name);
            assert.ok(!variables.RESTIC_REPOSITORY.includes(stack), name);
            // Its database dump is made and loaded with the app's own credentials.
            assert.deepEqual(
              [variables.DB_DATABASES, variables.DB_USER],
              database ? [app, app] : [undefined, undefined],
              name,
            );
            // The final backup and the restore hold the volumes the scheduled backup holds.
            assert.equal(variables.BACKUP_VOLUMES, backup.BACKUP_VOLUMES, name);
          }
          assert.ok(backup.BACKUP_VOLUMES || database);
          assert.equal(final.BACKUP_EXCLUDE, backup.BACKUP_EXCLUDE);
          assert.equal(restore.BACKUP_EXCLUDE, undefined);
          const bucketsJob = output
            .manifests(stack, app)
            .find((object) => object.kind === "Job" && object.metadata.name === `${app}-${app}-buckets`);
          const buckets = bucketsJob ? String(env(bucketsJob).BUCKETS).split(" ") : undefined;
          assert.deepEqual(output.outputs(stack, app).backups, [
            {
              app,
              namespace: app,
              schedule: output.backupConfig(stack)["backup:schedule"],
              repository,
              retention: output.backupConfig(stack)["backup:retention"],
              secretsFile: `secrets/apps/${app}.yaml`,
              // What a migration drops from the source's database server once the app left it.
              ...(database ? { database: { kind: database, name: app, user: app } } : {}),
              // Which a migration refuses to leave behind: the objects are in the server's store.
              ...(buckets ? { buckets } : {}),
            },
          ]);
        });

        it("drills its restore on the stack's drill schedule into scratch, mounting none of its volumes", () => {
          const drill = output.manifest(stack, app, "CronJob", `${app}-drill`);
          const shared = output.backupConfig(stack);
          assert.equal(drill.spec.schedule, shared["backup:drillSchedule"] ?? "0 5 * * 0");
          assert.equal(drill.spec.concurrencyPolicy, "Forbid");
          const template = drill.spec.jobTemplate.spec.template;
          assert.equal(template.metadata.labels["backup.infra/app"], app);
          const pod = template.spec;
          const volumes: Record<string, any>[] = pod.volumes ?? [];
          assert.deepEqual(
            volumes.filter((volume) => volume.persistentVolumeClaim),
            [],
            "the drill mounts no volume of the app",
          );
          const container = pod.containers[0];
          const scratch = container.volumeMounts.find(
            (mount: Record<string, any>) => mount.mountPath === "/backup",
          );
          assert.ok(scratch, "a scratch directory at BACKUP_DIR");
          assert.ok(
            volumes.find((volume) => volume.name === scratch.name)?.emptyDir,
            "the scratch is an emptyDir",
          );
          assert.ok(container.command.includes("drill.sh"));
          const variables = env(drill);
          assert.equal(variables.BACKUP_DIR, "/backup");
          assert.equal(variables.RESTIC_REPOSITORY, `rclone:${shared["backup:remote"]}/${app}`);
          const database = databaseOf(stack, app);
          // A database dump is loaded into a throwaway server in the pod, never the shared one.
          assert.equal(variables.DB_HOST, database ? "127.0.0.1" : undefined);
          assert.equal(Boolean(variables.DRILL_SERVER_START), Boolean(database));
          assert.equal(variables.DB_DATABASES, database ? app : undefined);
        });

        it("opens its repository with its own password and storage key, from secrets/apps/<app>.yaml, mounted in its backup jobs only", async () => {
          // Run again to see the Secrets' values (synth writes every secret redacted).
          const run = await output.rerun(stack, app, () => {});
          const [password, rclone] = ["resticPassword", "rcloneConfig"].map((key) =>
            createHash("sha256")
              .update(`synth-app-secret:${stack}:secrets/apps/${app}.yaml:${key}`)
              .digest("base64url"),
          );
          assert.deepEqual(run.manifest("Secret", "restic-password").stringData, { password });
          assert.deepEqual(run.manifest("Secret", "rclone-config").stringData, { "rclone.conf": rclone });
          const mountsSecret = (object: Record<string, any>, name: string) =>
            (podSpec(object).volumes ?? []).some(
              (volume: Record<string, any>) => volume.secret?.secretName === name,
            );
          for (const object of output.manifests(stack, app).filter((candidate) => podTemplate(candidate))) {
            const backupJob = podTemplate(object)?.metadata?.labels?.["backup.infra/app"] === app;
            for (const name of ["restic-password", "rclone-config"])
              assert.equal(
                mountsSecret(object, name),
                backupJob,
                `${object.kind} ${object.metadata.name}: ${name}`,
              );
          }
        });

        it("writes no secret in plain text: the Secrets it creates show no data, and the placeholders appear nowhere", () => {
          const secrets = output.manifests(stack, app).filter((object) => object.kind === "Secret");
          const names = secrets.map((secret) => secret.metadata.name);
          const declaresStable = Object.keys(appSecretsFile(repoRoot, app).spec).some(
            (key) => !(key in backupSecrets),
          );
          for (const name of [
            "restic-password",
            "rclone-config",
            ...(declaresStable ? [`${app}-stable`] : []),
          ])
            assert.ok(names.includes(name), name);
          if (databaseOf(stack, app)) assert.ok(names.includes(`${app}-database`));
          for (const secret of secrets) {
            const values = Object.values({ ...secret.data, ...secret.stringData });
            assert.ok(values.length > 0, secret.metadata.name);
            for (const value of values) assert.equal(value, "[secret]", secret.metadata.name);
          }
          // Synth answers the stack files' secrets and the sops decryption with these placeholders.
          const placeholders = [
            ...stableSecretPlaceholders(stack, app),
            ...["shared", app].flatMap((project) =>
              secureKeys(output.config(stack, project)).map((key) => secretPlaceholder(stack, key)),
            ),
          ];
          assert.ok(placeholders.length > 0);
          for (const { path, text } of output.files(stack)) {
            for (const placeholder of placeholders)
              assert.ok(!text.includes(placeholder), `${path} leaks a secret`);
          }
        });

        it("names each private exposure in the private domain, recorded for the private DNS at the internal gateway's address with the server's wildcard certificate, and publishes only its public names at Cloudflare", () => {
          const { domain, privateDomain } = output.outputs(stack, "shared");
          const clusterIp = output.outputs(stack, "internal-gateway").clusterIp;
          const inPrivateDomain = (hostname: string) => hostname.endsWith(`.${privateDomain}`);
          const manifests = output.manifests(stack, app);
          const recorded = output.privateNames(stack, app);
          const published = output
            .resources(stack, app)
            .filter((resource) => resource.type === "cloudflare:index/dnsRecord:DnsRecord")
            .map((resource) => resource.inputs);
          for (const gateway of manifests.filter((object) => object.kind === "Gateway")) {
            const https = gateway.spec.listeners.find(
              (listener: Record<string, any>) => listener.name === "https",
            );
            const hostname = String(https.hostname);
            if (gateway.spec.gatewayClassName === "internal") {
              assert.ok(inPrivateDomain(hostname), `${hostname} is not in ${privateDomain}`);
              assert.deepEqual(https.tls.certificateRefs, [wildcardCertificateRef], hostname);
              assert.deepEqual(
                recorded.filter((name) => name.hostname === hostname),
                [{ hostname, address: clusterIp }],
              );
            } else {
              assert.ok(hostname.endsWith(`.${domain}`) && !inPrivateDomain(hostname), hostname);
              assert.deepEqual(
                published.filter((record) => record.name === hostname).map((record) => record.proxied),
                [true],
                hostname,
              );
            }
          }
          // Every recorded name is private; nothing private is published or listed in a certificate.
          for (const name of recorded) assert.ok(inPrivateDomain(name.hostname), name.hostname);
          for (const record of published) assert.ok(!inPrivateDomain(record.name), record.name);
          for (const certificate of manifests.filter((object) => object.kind === "Certificate")) {
            for (const dnsName of certificate.spec.dnsNames as string[])
              assert.ok(
                !inPrivateDomain(dnsName),
                `Certificate ${certificate.metadata.name} lists ${dnsName}`,
              );
          }
        });

        it("is reached from outside its namespace only by its gateways' Traefik, the tailnet router and the node", () => {
          const model = output.model(stack);
          const gatewayNamespaces = new Set(["internal-gateway", "public-gateway"]);
          const unexpected: FlowResult[] = [];
          for (const pod of pods(model, app)) {
            for (const path of openPaths(model, pod.name)) {
              const [source] = model.endpoints.filter((endpoint) => endpoint.name === path.from);
              // The node (k3s's API server is the node) probes and reaches every pod.
              if (source?.namespace === app || (source && "reserved:host" in source.labels)) continue;
              const gateway =
                source?.namespace !== undefined &&
                gatewayNamespaces.has(source.namespace) &&
                (source.labels["k8s:app.kubernetes.io/name"] === "traefik" || source.subnetRouter);
              if (!gateway) unexpected.push(path);
            }
          }
          assert.deepEqual(unexpected.map(describeFlow), []);
        });

        it("reaches only DNS, its database, the backup storage and the egress its config declares", () => {
          const model = output.model(stack);
          const manifests = output.manifests(stack, app);
          const config = output.config(stack, app);
          const storage = output.backupConfig(stack);
          const storagePorts: number[] = storage["backup:storagePorts"] ?? [443];
          const usesDatabase = (pod: Endpoint) => {
            const object = manifests.find(
              (candidate) =>
                podTemplate(candidate) !== undefined && `${app}/${candidate.metadata?.name}` === pod.name,
            );
            return object !== undefined && readsDatabase(object, app);
          };
          const database = databaseOf(stack, app);
          // The object store is reached as its users reach it: through the internal gateway.
          const traefik = model.endpoints.find(
            (endpoint) =>
              endpoint.namespace === "internal-gateway" &&
              endpoint.labels["k8s:app.kubernetes.io/name"] === "traefik",
          );
          const usesBuckets = (pod: Endpoint) => {
            const object = manifests.find(
              (candidate) =>
                podTemplate(candidate) !== undefined && `${app}/${candidate.metadata?.name}` === pod.name,
            );
            return (
              object !== undefined &&
              (readsSecret(object, `${app}-object-storage`) ||
                (configFileBucketUsers[app] ?? []).includes(object.metadata.name))
            );
          };
          const violations: string[] = [];
          for (const pod of pods(model, app)) {
            const backupJob = pod.labels["k8s:backup.infra/app"] === app;
            const allowed: Destination[] = [
              { to: "kube-system/coredns", port: 53, protocol: "UDP" },
              { to: "kube-system/coredns", port: 53, protocol: "TCP" },
              ...(database && (backupJob || usesDatabase(pod))
                ? [{ to: `${database}/${database}`, port: databasePorts[database] as number }]
                : []),
              ...(traefik && !backupJob && usesBuckets(pod) ? [{ to: traefik.name, port: 8443 }] : []),
              ...(backupJob
                ? [
                    ...(storage["backup:storageHosts"] as string[]).flatMap((host) =>
                      storagePorts.map((port) => ({ to: `world:${host}`, port })),
                    ),
                    // The notification target (backup:notify): its URLs' hosts, on 443.
                    ...notifyHosts(storage["backup:notify"]).map((host) => ({
                      to: `world:${host}`,
                      port: 443,
                    })),
                  ]
                : (declaredEgress[app]?.(config) ?? [])),
            ];
            for (const path of egressPaths(model, pod.name)) {
              const target = model.endpoints.find((endpoint) => endpoint.name === path.to);
              if (target?.namespace === app) continue;
              const meant = allowed.some(
                (destination) =>
                  destination.to === path.to &&
                  destination.port === path.port &&
                  (destination.protocol ?? "TCP") === path.protocol,
              );
              if (!meant) violations.push(`${describeFlow(path)}: ${path.outcome} (${path.reason})`);
            }
            for (const destination of allowed) {
              const open = egressPaths(model, pod.name, [destination.to]).some(
                (path) => path.port === destination.port && path.protocol === (destination.protocol ?? "TCP"),
              );
              if (!open)
                violations.push(
                  `${pod.name} → ${destination.to}:${destination.port}: meant to be open, denied`,
                );
            }
          }
          assert.deepEqual(violations, []);
        });
      });
    }
  }
});
