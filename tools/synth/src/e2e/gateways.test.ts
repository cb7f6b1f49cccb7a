import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cidrContains, cidrRange, readServers } from "@infra/core";
import { parseAllDocuments } from "yaml";
import { tailnetDestinations } from "../../../../pulumi/projects/common/src/service-addresses";
import { cloudflareOriginPullCa } from "../../../../pulumi/projects/public-gateway/origin-pull-ca";
import { readProject } from "../projects";
import { type SynthReport, synthAndValidate } from "../report";
import { runProgram } from "../run-program";
import { readStackConfig } from "../stack-config";
import type { ProjectSynth } from "../synth";

const repoRoot = join(__dirname, "..", "..", "..", "..");
const pulumiDir = join(repoRoot, "pulumi");
const projectsDir = join(pulumiDir, "projects");
const stacks = ["cloud-a", "cloud-b", "local-a"];
/** The stack whose shared project owns the tailnet policy in the example config. */
/** The server whose stack owns the tailnet policy (servers/site.json). */
const policyOwner = readServers().site?.tailnet.policyOwner ?? "";
const cloudflareRanges = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "..", "..", "nixos", "cloudflare-ip-ranges.json"), "utf8"),
) as { ipv4Cidrs: string[]; ipv6Cidrs: string[] };

const tempRoot = mkdtempSync(join(tmpdir(), "synth-gateways-"));
const outDir = join(tempRoot, "out");
let report: SynthReport;

before(async () => {
  // Every project: the gateways are checked against the Gateways the apps put in front of them.
  report = await synthAndValidate({
    projectsDir,
    validate: true,
    outDir,
    workspaceRoots: [pulumiDir],
  });
});

after(() => rmSync(tempRoot, { recursive: true, force: true }));

function project(stack: string, name: string): ProjectSynth {
  const found = report.results
    .find((result) => result.stack === stack)
    ?.projects.find((p) => p.project === name);
  assert.ok(found, `project ${name} was not synthesized on stack ${stack}`);
  return found;
}

/** The objects synth wrote for a project (secrets redacted, as anyone reading the output sees them). */
function writtenManifests(stack: string, name: string): Record<string, any>[] {
  const text = readFileSync(join(outDir, stack, name, "manifests.yaml"), "utf8");
  return parseAllDocuments(text).map((document) => document.toJS() as Record<string, any>);
}

function written(stack: string, name: string, kind: string, objectName: string): Record<string, any> {
  const found = writtenManifests(stack, name).find(
    (object) => object.kind === kind && object.metadata?.name === objectName,
  );
  assert.ok(found, `${stack}/${name} wrote no ${kind} ${objectName}`);
  return found;
}

function writtenOutputs(stack: string, name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(outDir, stack, name, "outputs.json"), "utf8"));
}

function resources(stack: string, name: string, type: string): Record<string, any>[] {
  const all = JSON.parse(readFileSync(join(outDir, stack, name, "resources.json"), "utf8")) as Record<
    string,
    any
  >[];
  return all.filter((resource) => resource.type === type);
}

function helmValues(stack: string, name: string): Record<string, any> {
  const [release] = resources(stack, name, "kubernetes:helm.sh/v3:Release");
  assert.ok(release, `${stack}/${name} has no Helm release`);
  return release.inputs.values;
}

/** Every object synth wrote for a stack, from every project. */
function stackManifests(stack: string): Record<string, any>[] {
  return (
    report.results
      .find((result) => result.stack === stack)
      ?.projects.flatMap((p) => writtenManifests(stack, p.project)) ?? []
  );
}

/** The namespace of the server's wildcard certificate of its private names (the internal gateway's). */
const privateTlsNamespace = "internal-gateway-tls";

const gatewayProjects = [
  ["internal-gateway", "internal"],
  ["public-gateway", "public"],
] as const;

/** The namespaces holding Gateways of a class, in every project of the stack. */
function gatewayNamespaces(stack: string, gatewayClass: string): string[] {
  const namespaces = stackManifests(stack)
    .filter((object) => object.kind === "Gateway" && object.spec.gatewayClassName === gatewayClass)
    .map((object) => String(object.metadata.namespace));
  return [...new Set(namespaces)].sort();
}

/** Runs a project on `stack` with its config changed, against the exports synth produced. */
async function runWithConfig(name: string, stack: string, change: (values: Record<string, string>) => void) {
  const info = readProject(join(projectsDir, name));
  const config = readStackConfig(info, stack);
  change(config.values);
  return runProgram(
    info,
    stack,
    config,
    (other) =>
      report.results.find((result) => result.stack === stack)?.projects.find((p) => p.project === other)
        ?.outputs,
    [pulumiDir],
  );
}

function serviceCidr(stack: string): string {
  return writtenOutputs(stack, "shared").network.serviceCidr;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe("the gateway projects on every example stack", () => {
  it("synthesize and validate without a problem", () => {
    assert.deepEqual(report.problems, []);
    for (const stack of stacks) {
      const ran = report.stacks.find((result) => result.stack === stack)?.projects.map((p) => p.project);
      assert.ok(ran?.includes("internal-gateway") && ran.includes("public-gateway"), `${stack} ran ${ran}`);
    }
  });

  it("run after the gateway-api layer, whose version they read", () => {
    for (const stack of stacks) {
      for (const name of ["internal-gateway", "public-gateway"]) {
        assert.deepEqual([...(project(stack, name).reads.get("gateway-api") ?? [])], ["gatewayApiVersion"]);
      }
    }
  });

  it("create the GatewayClasses internal and public for Traefik's controller, which takes its own class only", () => {
    for (const stack of stacks) {
      for (const [name, gatewayClass] of gatewayProjects) {
        const object = written(stack, name, "GatewayClass", gatewayClass);
        assert.equal(object.spec.controllerName, "traefik.io/gateway-controller");
        assert.equal(writtenOutputs(stack, name).gatewayClass, gatewayClass);
        const provider = helmValues(stack, name).providers.kubernetesGateway;
        if (provider.enabled) assert.equal(provider.labelSelector, `app.kubernetes.io/name=${gatewayClass}`);
      }
    }
  });

  it("run Traefik with the chart's RBAC off, as a ServiceAccount of their own", () => {
    for (const stack of stacks) {
      for (const [name] of gatewayProjects) {
        const values = helmValues(stack, name);
        assert.deepEqual(values.rbac, { enabled: false }, `${stack}/${name}`);
        assert.deepEqual(values.serviceAccount, { name: "traefik" }, `${stack}/${name}`);
        assert.equal(written(stack, name, "ServiceAccount", "traefik").metadata.namespace, name);
        assert.equal(writtenOutputs(stack, name).serviceAccount, "traefik");
      }
    }
  });

  it("watch exactly the namespaces that hold Gateways of their class, as their servedNamespaces config lists them, and the internal one its wildcard certificate's", () => {
    for (const stack of stacks) {
      for (const [name, gatewayClass] of gatewayProjects) {
        const served = writtenOutputs(stack, name).servedNamespaces as string[];
        // The internal Traefik reads the wildcard certificate's Secret (and the grants to it) there.
        const certificates = name === "internal-gateway" ? [privateTlsNamespace] : [];
        assert.deepEqual(
          [...served].sort(),
          [...gatewayNamespaces(stack, gatewayClass), ...certificates].sort(),
          `${stack}/${name}`,
        );
        const provider = helmValues(stack, name).providers.kubernetesGateway;
        if (served.length === 0) {
          // Nothing to serve: no provider, so no access to the API at all.
          assert.deepEqual(provider, { enabled: false }, `${stack}/${name}`);
        } else {
          assert.equal(provider.enabled, true);
          assert.deepEqual(provider.namespaces, served, `${stack}/${name}`);
        }
      }
    }
    // The examples: private apps on every server (Ghost's admin among them), public ones on
    // cloud-a and local-a, none on the standby cloud-b.
    assert.deepEqual(gatewayNamespaces("cloud-a", "internal"), [
      "ente",
      "etebase",
      "ghost",
      "kubernetes-dashboard",
      // The uptime monitor's status page, on every server.
      "monitoring",
      "object-storage",
      "vaultwarden",
    ]);
    assert.deepEqual(gatewayNamespaces("cloud-a", "public"), ["ghost", "zitadel"]);
    assert.deepEqual(gatewayNamespaces("local-a", "public"), ["n8n"]);
    assert.deepEqual(writtenOutputs("cloud-b", "public-gateway").servedNamespaces, []);
  });

  it("read cluster-wide only namespace names and GatewayClasses, and write only their own class's status", () => {
    for (const stack of stacks) {
      for (const [name, gatewayClass] of gatewayProjects) {
        const serves = (writtenOutputs(stack, name).servedNamespaces as string[]).length > 0;
        const roles = writtenManifests(stack, name).filter((object) => object.kind === "ClusterRole");
        assert.equal(roles.length, serves ? 1 : 0, `${stack}/${name}`);
        if (!serves) continue;
        const [role] = roles;
        assert.deepEqual(role?.rules, [
          { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
          {
            apiGroups: ["gateway.networking.k8s.io"],
            resources: ["gatewayclasses"],
            verbs: ["get", "list", "watch"],
          },
          {
            apiGroups: ["gateway.networking.k8s.io"],
            resources: ["gatewayclasses/status"],
            verbs: ["update"],
            resourceNames: [gatewayClass],
          },
        ]);
        const binding = written(stack, name, "ClusterRoleBinding", `traefik-${gatewayClass}`);
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "traefik", namespace: name }]);
      }
    }
  });

  it("leave no ClusterRole on any stack that reads Secrets", () => {
    for (const stack of stacks) {
      const readers = stackManifests(stack)
        .filter((object) => object.kind === "ClusterRole")
        .filter((object) =>
          (object.rules ?? []).some(
            (rule: Record<string, any>) => rule.resources.includes("secrets") || rule.resources.includes("*"),
          ),
        );
      assert.deepEqual(
        readers.map((object) => object.metadata.name),
        [],
        stack,
      );
    }
  });

  it("get a Role in each namespace they serve, bound to their account, writing only the status of what they serve there", () => {
    for (const stack of stacks) {
      for (const [name, gatewayClass] of gatewayProjects) {
        const manifests = stackManifests(stack);
        for (const namespace of gatewayNamespaces(stack, gatewayClass)) {
          const gateways = manifests.filter(
            (object) =>
              object.kind === "Gateway" &&
              object.metadata.namespace === namespace &&
              object.spec.gatewayClassName === gatewayClass,
          );
          for (const gateway of gateways) {
            const roleName = `${name}-${gateway.metadata.name}`;
            const inNamespace = (kind: string) =>
              manifests.find(
                (object) =>
                  object.kind === kind &&
                  object.metadata.name === roleName &&
                  object.metadata.namespace === namespace,
              );
            const role = inNamespace("Role");
            assert.ok(role, `${stack}: no Role ${namespace}/${roleName}`);
            const routes = manifests
              .filter(
                (object) =>
                  object.kind === "HTTPRoute" &&
                  object.metadata.namespace === namespace &&
                  object.spec.parentRefs.some(
                    (ref: Record<string, any>) => ref.name === gateway.metadata.name,
                  ),
              )
              .map((object) => object.metadata.name)
              .sort();
            const status = (resource: string) =>
              role.rules.find((rule: Record<string, any>) => rule.resources.includes(resource))
                ?.resourceNames;
            assert.deepEqual(status("gateways/status"), [gateway.metadata.name]);
            assert.deepEqual([...status("httproutes/status")].sort(), routes);
            assert.deepEqual(inNamespace("RoleBinding")?.subjects, [
              { kind: "ServiceAccount", name: "traefik", namespace: name },
            ]);
          }
        }
      }
    }
  });

  it("let Traefik out to DNS, to the API server while it serves a namespace, and to each exposed backend by a policy of its own", () => {
    for (const stack of stacks) {
      for (const [name] of gatewayProjects) {
        const serves = (writtenOutputs(stack, name).servedNamespaces as string[]).length > 0;
        const policy = written(stack, name, "CiliumNetworkPolicy", "traefik");
        const peers = policy.spec.egress.map((rule: Record<string, any>) =>
          rule.toEntities ? rule.toEntities.join(",") : "kube-dns",
        );
        assert.deepEqual(peers, serves ? ["kube-apiserver", "kube-dns"] : ["kube-dns"], `${stack}/${name}`);
        // The exposures' policies, in the gateway's namespace, each to one backend and port.
        const toBackends = stackManifests(stack).filter(
          (object) =>
            object.kind === "CiliumNetworkPolicy" &&
            object.metadata.namespace === name &&
            object.metadata.name.startsWith("traefik-to-"),
        );
        assert.equal(toBackends.length > 0, serves, `${stack}/${name}`);
        for (const object of toBackends) {
          assert.deepEqual(object.spec.endpointSelector, {
            matchLabels: { "app.kubernetes.io/name": "traefik" },
          });
          assert.equal(object.spec.egress.length, 1);
          const [rule] = object.spec.egress;
          assert.deepEqual(Object.keys(rule).sort(), ["toEndpoints", "toPorts"]);
          assert.equal(rule.toEndpoints.length, 1);
          assert.equal(rule.toPorts[0].ports.length, 1);
        }
      }
    }
  });
});

describe("the internal gateway", () => {
  it("holds the server's wildcard certificate of its private names in a namespace of its own, from the public issuer, waited for until issued, and exports it", () => {
    for (const stack of stacks) {
      const { privateDomain } = writtenOutputs(stack, "shared");
      written(stack, "internal-gateway", "Namespace", privateTlsNamespace);
      const certificate = written(stack, "internal-gateway", "Certificate", "private-wildcard");
      assert.equal(certificate.metadata.namespace, privateTlsNamespace);
      assert.equal(certificate.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
      assert.deepEqual(certificate.spec, {
        secretName: "private-wildcard-tls",
        // Every site name and every name of this server: the only private names CT logs ever show.
        dnsNames: [`*.${privateDomain}`, `*.${stack}.${privateDomain}`],
        issuerRef: {
          group: "cert-manager.io",
          kind: "ClusterIssuer",
          name: writtenOutputs(stack, "cert-manager").issuers.public,
        },
      });
      assert.deepEqual(writtenOutputs(stack, "internal-gateway").wildcardCertificate, {
        namespace: privateTlsNamespace,
        secretName: "private-wildcard-tls",
      });
    }
  });

  it("lets its Traefik read the wildcard certificate's namespace, where it serves no Gateway and writes no status", () => {
    for (const stack of stacks) {
      const role = written(stack, "internal-gateway", "Role", "traefik-wildcard-certificate");
      assert.equal(role.metadata.namespace, privateTlsNamespace);
      // It reads there, and writes nothing: an empty resourceNames would grant every name.
      for (const rule of role.rules as Record<string, any>[]) {
        assert.deepEqual(
          (rule.verbs as string[]).filter((verb) => !["get", "list", "watch"].includes(verb)),
          [],
          `${stack}: ${JSON.stringify(rule)}`,
        );
      }
      assert.deepEqual(
        written(stack, "internal-gateway", "RoleBinding", "traefik-wildcard-certificate").subjects,
        [{ kind: "ServiceAccount", name: "traefik", namespace: "internal-gateway" }],
      );
      assert.deepEqual(
        stackManifests(stack).filter(
          (object) => object.kind === "Gateway" && object.metadata.namespace === privateTlsNamespace,
        ),
        [],
      );
    }
  });

  it("serves every private Gateway with the wildcard certificate, granted to Gateways of its namespace only, and issues no certificate of a private name", () => {
    for (const stack of stacks) {
      const { privateDomain } = writtenOutputs(stack, "shared");
      const manifests = stackManifests(stack);
      const grants = manifests.filter((object) => object.kind === "ReferenceGrant");
      const privateGateways = manifests.filter(
        (object) => object.kind === "Gateway" && object.spec.gatewayClassName === "internal",
      );
      assert.ok(privateGateways.length > 0, stack);
      for (const gateway of privateGateways) {
        const { name, namespace } = gateway.metadata;
        const https = gateway.spec.listeners.find(
          (listener: Record<string, any>) => listener.name === "https",
        );
        assert.deepEqual(
          https.tls.certificateRefs,
          [{ group: "", kind: "Secret", name: "private-wildcard-tls", namespace: privateTlsNamespace }],
          `${stack}: ${namespace}/${name}`,
        );
        assert.ok(String(https.hostname).endsWith(`.${privateDomain}`), `${stack}: ${https.hostname}`);
        const grantName = name === namespace ? name : `${namespace}-${name}`;
        const grant = grants.find(
          (object) => object.metadata.name === grantName && object.metadata.namespace === privateTlsNamespace,
        );
        assert.ok(grant, `${stack}: no ReferenceGrant ${privateTlsNamespace}/${grantName}`);
        assert.deepEqual(grant.spec, {
          from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace }],
          to: [{ group: "", kind: "Secret", name: "private-wildcard-tls" }],
        });
      }
      // One grant per private Gateway, nothing else granted anywhere.
      assert.equal(grants.length, privateGateways.length, stack);
      for (const grant of grants) assert.equal(grant.metadata.namespace, privateTlsNamespace);
      for (const certificate of manifests.filter((object) => object.kind === "Certificate")) {
        if (certificate.metadata.name === "private-wildcard") continue;
        for (const dnsName of certificate.spec.dnsNames as string[]) {
          assert.ok(
            dnsName !== privateDomain && !dnsName.endsWith(`.${privateDomain}`),
            `${stack}: Certificate ${certificate.metadata.namespace}/${certificate.metadata.name} lists ${dnsName}`,
          );
        }
      }
    }
  });

  it("publishes no private name at Cloudflare: every Cloudflare record is proxied, outside the private domain", () => {
    for (const stack of stacks) {
      const { privateDomain } = writtenOutputs(stack, "shared");
      for (const { project: name } of report.results.find((result) => result.stack === stack)?.projects ??
        []) {
        for (const record of resources(stack, name, "cloudflare:index/dnsRecord:DnsRecord")) {
          const hostname = String(record.inputs.name);
          assert.ok(
            hostname !== privateDomain && !hostname.endsWith(`.${privateDomain}`),
            `${stack}/${name}: ${hostname}`,
          );
          assert.equal(record.inputs.proxied, true, `${stack}/${name}: ${hostname}`);
        }
      }
    }
  });

  it("puts Traefik on the 53rd address of the server's service range and exports it", () => {
    for (const stack of stacks) {
      const { clusterIp } = writtenOutputs(stack, "internal-gateway");
      const range = serviceCidr(stack);
      assert.ok(cidrContains(range, clusterIp), `${clusterIp} is outside ${range}`);
      const [first] = cidrRange(range);
      assert.equal(cidrRange(`${clusterIp}/32`)[0] - first, 53);
      assert.deepEqual(helmValues(stack, "internal-gateway").service.spec, {
        type: "ClusterIP",
        clusterIP: clusterIp,
      });
    }
  });

  it("authenticates the router with a pre-authorized, tagged, single-use key that never appears in the output", () => {
    for (const stack of stacks) {
      const [key] = resources(stack, "internal-gateway", "tailscale:index/tailnetKey:TailnetKey");
      assert.ok(key, `${stack} has no TailnetKey`);
      assert.equal(key.inputs.preauthorized, true);
      assert.equal(key.inputs.reusable, false);
      // A tag of this server's own: another server's stolen router state cannot claim its routes.
      assert.deepEqual(key.inputs.tags, [`tag:k8s-router-${stack}`]);
      assert.deepEqual(written(stack, "internal-gateway", "Secret", "tailscale-router-auth").stringData, {
        authkey: "[secret]",
      });
      const generated = project(stack, "internal-gateway").generatedSecrets;
      assert.ok(generated.length > 0, "the mock made no auth key");
      for (const file of listFiles(join(outDir, stack))) {
        const text = readFileSync(file, "utf8");
        for (const secret of generated) assert.ok(!text.includes(secret), `${file} holds the auth key`);
      }
    }
  });

  it("lets only the subnet router into Traefik, and the router only to Traefik's entrypoints", () => {
    for (const stack of stacks) {
      const traefik = written(stack, "internal-gateway", "CiliumNetworkPolicy", "traefik");
      assert.deepEqual(
        traefik.spec.ingress.map((rule: Record<string, any>) => rule.fromEndpoints),
        [[{ matchLabels: { "app.kubernetes.io/name": "tailscale-router" } }]],
      );
      const routes = written(stack, "internal-gateway", "CiliumNetworkPolicy", "tailscale-router-routes");
      assert.deepEqual(routes.spec.egress[0].toEndpoints, [
        { matchLabels: writtenOutputs(stack, "internal-gateway").podLabels },
      ]);
    }
  });
});

describe("the tailnet policy", () => {
  it("is managed by the owning stack only", () => {
    for (const stack of stacks) {
      const acls = resources(stack, "internal-gateway", "tailscale:index/acl:Acl");
      assert.equal(acls.length, stack === policyOwner ? 1 : 0, stack);
      assert.equal(writtenOutputs(stack, "internal-gateway").managesTailnetPolicy, stack === policyOwner);
    }
  });

  it("fails on a stack that does not own it but has its config, naming the key and the stack", async () => {
    const owner = readStackConfig(readProject(join(projectsDir, "internal-gateway")), policyOwner);
    const run = await runWithConfig("internal-gateway", "cloud-b", (values) => {
      values["internal-gateway:tailnetPolicy"] = owner.values["internal-gateway:tailnetPolicy"] ?? "";
    });
    assert.equal(run.errors.length, 1, run.errors.join("\n"));
    assert.match(run.errors[0] ?? "", /"internal-gateway:tailnetPolicy" is set on stack "cloud-b"/);
  });

  it("lists every server the repository describes, each server's routes approved for its own router only", () => {
    const [acl] = resources(policyOwner, "internal-gateway", "tailscale:index/acl:Acl");
    const policy = JSON.parse(String(acl?.inputs.acl));
    const { servers } = readServers();
    for (const server of servers) {
      const routes = tailnetDestinations(server.network.serviceCidr).map((destination) => destination.route);
      for (const route of routes) {
        assert.deepEqual(policy.autoApprovers.routes[route], [`tag:k8s-router-${server.name}`], route);
      }
    }
    assert.equal(
      Object.keys(policy.autoApprovers.routes).length,
      servers.reduce((count, server) => count + tailnetDestinations(server.network.serviceCidr).length, 0),
    );
  });
});

describe("the public gateway", () => {
  it("publishes Traefik on the node's ports 80/443, keeping the client's source address, with no node ports", () => {
    for (const stack of stacks) {
      const values = helmValues(stack, "public-gateway");
      assert.deepEqual(values.service.spec, {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        allocateLoadBalancerNodePorts: false,
      });
      assert.equal(values.ports.web.exposedPort, 80);
      assert.equal(values.ports.websecure.exposedPort, 443);
    }
  });

  it("lets in only Cloudflare's address ranges, on the entrypoints", () => {
    const expected = [...cloudflareRanges.ipv4Cidrs, ...cloudflareRanges.ipv6Cidrs];
    for (const stack of stacks) {
      const policy = written(stack, "public-gateway", "CiliumNetworkPolicy", "traefik");
      assert.equal(policy.spec.ingress.length, 1);
      const [rule] = policy.spec.ingress;
      assert.deepEqual(Object.keys(rule).sort(), ["fromCIDRSet", "toPorts"]);
      assert.deepEqual(
        rule.fromCIDRSet.map((entry: Record<string, any>) => entry.cidr),
        expected,
      );
      assert.deepEqual(rule.toPorts, [
        {
          ports: [
            { port: "8000", protocol: "TCP" },
            { port: "8443", protocol: "TCP" },
          ],
        },
      ]);
      assert.deepEqual(
        helmValues(stack, "public-gateway").ports.websecure.forwardedHeaders.trustedIPs,
        expected,
      );
    }
  });

  it("exports the server's public address for DNS records, and reports it on its Gateways", () => {
    for (const stack of stacks) {
      const { publicIp, servedNamespaces } = writtenOutputs(stack, "public-gateway");
      assert.equal(publicIp, writtenOutputs(stack, "shared").server.publicIp);
      if (servedNamespaces.length === 0) continue;
      assert.deepEqual(helmValues(stack, "public-gateway").providers.kubernetesGateway.statusAddress, {
        ip: publicIp,
        service: { enabled: false },
      });
    }
  });

  it("requires Cloudflare's origin-pull client certificate on every TLS connection (Authenticated Origin Pulls)", () => {
    for (const stack of stacks) {
      assert.deepEqual(helmValues(stack, "public-gateway").providers.file, {
        enabled: true,
        content: {
          tls: {
            options: {
              default: {
                clientAuth: {
                  caFiles: [cloudflareOriginPullCa],
                  clientAuthType: "RequireAndVerifyClientCert",
                },
              },
            },
          },
        },
      });
      // The internal gateway asks its clients for no certificate.
      assert.equal(helmValues(stack, "internal-gateway").providers.file, undefined);
    }
  });

  it("sends Strict-Transport-Security on every HTTPS route of a public app, and on no private one", () => {
    let publicRoutes = 0;
    for (const stack of stacks) {
      const header: string = writtenOutputs(stack, "public-gateway").strictTransportSecurity;
      assert.equal(header, "max-age=31536000");
      const manifests = stackManifests(stack);
      const classOf = (route: Record<string, any>): string | undefined =>
        manifests.find(
          (object) =>
            object.kind === "Gateway" &&
            object.metadata.namespace === route.metadata.namespace &&
            object.metadata.name === route.spec.parentRefs[0].name,
        )?.spec.gatewayClassName;
      const https = manifests.filter(
        (object) => object.kind === "HTTPRoute" && object.spec.parentRefs[0].sectionName === "https",
      );
      for (const route of https) {
        const hsts: Record<string, unknown>[] =
          classOf(route) === "public"
            ? [
                {
                  type: "ResponseHeaderModifier",
                  responseHeaderModifier: { set: [{ name: "Strict-Transport-Security", value: header }] },
                },
              ]
            : [];
        // Every rule that passes requests to a backend answers with it; redirects send none.
        for (const rule of route.spec.rules.filter(
          (candidate: Record<string, any>) => candidate.backendRefs,
        )) {
          const responseFilters = (rule.filters ?? []).filter(
            (filter: Record<string, any>) => filter.type !== "RequestHeaderModifier",
          );
          assert.deepEqual(
            responseFilters,
            hsts,
            `${stack}: ${route.metadata.namespace}/${route.metadata.name}`,
          );
        }
      }
      publicRoutes += https.filter((route) => classOf(route) === "public").length;
    }
    assert.ok(publicRoutes > 0, "the example stacks have public routes");
  });
});

describe("the zone's TLS settings", () => {
  const zoneSettingType = "cloudflare:index/zoneSetting:ZoneSetting";
  /** The stack that owns them in the example config (public-gateway:ownsZoneSettings). */
  const zoneOwner = "cloud-a";

  it("are managed by the owning stack only", () => {
    for (const stack of stacks) {
      const settings = resources(stack, "public-gateway", zoneSettingType);
      assert.equal(settings.length, stack === zoneOwner ? 5 : 0, stack);
      assert.equal(writtenOutputs(stack, "public-gateway").managesZoneSettings, stack === zoneOwner);
    }
  });

  it("are Full (strict) TLS to the origin, TLS 1.2 at least, HTTPS only, HSTS as the gateway sends it, and Authenticated Origin Pulls", () => {
    const settings = Object.fromEntries(
      resources(zoneOwner, "public-gateway", zoneSettingType).map((setting) => [
        setting.inputs.settingId,
        setting.inputs.value,
      ]),
    );
    assert.deepEqual(settings, {
      ssl: "strict",
      min_tls_version: "1.2",
      always_use_https: "on",
      security_header: {
        strict_transport_security: {
          enabled: true,
          max_age: 31536000,
          include_subdomains: false,
          preload: false,
          nosniff: false,
        },
      },
      tls_client_auth: "on",
    });
    for (const setting of resources(zoneOwner, "public-gateway", zoneSettingType)) {
      assert.equal(setting.inputs.zoneId, writtenOutputs(zoneOwner, "shared").cloudflare.zoneId);
    }
  });

  it("fail on a stack that sets them but does not own them, naming the key and the stack", async () => {
    const run = await runWithConfig("public-gateway", "cloud-b", (values) => {
      values["public-gateway:zoneSettings"] = JSON.stringify({ minTlsVersion: "1.3" });
    });
    assert.equal(run.errors.length, 1, run.errors.join("\n"));
    assert.match(
      run.errors[0] ?? "",
      /"public-gateway:zoneSettings" is set on stack "cloud-b", but this stack does not/,
    );
  });

  it("take the minimum TLS version and the HSTS settings from the owner's config", async () => {
    const run = await runWithConfig("public-gateway", zoneOwner, (values) => {
      values["public-gateway:zoneSettings"] = JSON.stringify({ minTlsVersion: "1.3" });
      values["public-gateway:hsts"] = JSON.stringify({ maxAge: 63072000, includeSubdomains: true });
    });
    assert.deepEqual(run.errors, []);
    const value = (id: string) =>
      run.resources.find((resource) => resource.type === zoneSettingType && resource.inputs.settingId === id)
        ?.inputs.value;
    assert.equal(value("min_tls_version"), "1.3");
    assert.deepEqual(
      (value("security_header") as Record<string, any>).strict_transport_security.max_age,
      63072000,
    );
    assert.equal(run.outputs.strictTransportSecurity?.value, "max-age=63072000; includeSubDomains");
  });
});

describe("synth across stacks", () => {
  /** A project that renders one DNS record, on two stacks. */
  function projectRenderingOneRecord(): string {
    const dir = join(tempRoot, "dns-twice");
    const app = join(dir, "app");
    mkdirSync(app, { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(app, "Pulumi.yaml"), "name: app\nruntime: nodejs\nmain: index.ts\n");
    for (const stack of ["cloud-a", "cloud-b"])
      writeFileSync(join(app, `Pulumi.${stack}.yaml`), "config: {}\n");
    writeFileSync(
      join(app, "index.ts"),
      [
        'import * as cloudflare from "@pulumi/cloudflare";',
        'new cloudflare.DnsRecord("www", {',
        '  zoneId: "0123456789abcdef0123456789abcdef",',
        '  name: "www.example.com",',
        '  type: "A",',
        '  content: "203.0.113.10",',
        "  ttl: 1,",
        "});",
      ].join("\n"),
    );
    return dir;
  }

  it("fails when two stacks manage the settings of one zone, naming both", async () => {
    const dir = join(tempRoot, "zone-twice");
    const app = join(dir, "app");
    mkdirSync(app, { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(app, "Pulumi.yaml"), "name: app\nruntime: nodejs\nmain: index.ts\n");
    for (const stack of ["cloud-a", "cloud-b"])
      writeFileSync(join(app, `Pulumi.${stack}.yaml`), "config: {}\n");
    writeFileSync(
      join(app, "index.ts"),
      [
        'import * as cloudflare from "@pulumi/cloudflare";',
        'new cloudflare.ZoneSetting("ssl", { zoneId: "0123456789abcdef0123456789abcdef", settingId: "ssl", value: "strict" });',
      ].join("\n"),
    );
    const twice = await synthAndValidate({
      projectsDir: dir,
      validate: true,
      outDir: join(tempRoot, "out-zone-twice"),
      workspaceRoots: [dir],
    });
    assert.deepEqual(twice.problems, [
      "cross-stack: the settings of zone 0123456789abcdef0123456789abcdef are managed by cloud-a/app and " +
        "cloud-b/app: they would undo each other's changes; let one stack own them",
    ]);
  });

  it("fails when two stacks render a DNS record of the same name in the same zone, naming both", async () => {
    const dir = projectRenderingOneRecord();
    const twice = await synthAndValidate({
      projectsDir: dir,
      validate: true,
      outDir: join(tempRoot, "out-dns-twice"),
      workspaceRoots: [dir],
    });
    assert.deepEqual(twice.problems, [
      'cross-stack: DNS record "www.example.com" (zone 0123456789abcdef0123456789abcdef) is rendered by ' +
        "cloud-a/app and cloud-b/app: they would overwrite each other's record; give each stack its own name",
    ]);
  });
});
