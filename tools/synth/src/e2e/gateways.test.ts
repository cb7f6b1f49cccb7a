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
import { cidrContains, cidrRange } from "@infra/core";
import { parseAllDocuments } from "yaml";
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
const policyOwner = "cloud-a";
const cloudflareRanges = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "example-data", "cloudflare-ip-ranges.json"), "utf8"),
) as { ipv4Cidrs: string[]; ipv6Cidrs: string[] };

const tempRoot = mkdtempSync(join(tmpdir(), "synth-gateways-"));
const outDir = join(tempRoot, "out");
let report: SynthReport;

before(async () => {
  report = await synthAndValidate({
    projectsDir,
    projects: ["internal-gateway", "public-gateway"],
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

  it("create the GatewayClasses internal and public for Traefik's controller", () => {
    for (const stack of stacks) {
      for (const [name, gatewayClass] of [
        ["internal-gateway", "internal"],
        ["public-gateway", "public"],
      ] as const) {
        const object = written(stack, name, "GatewayClass", gatewayClass);
        assert.equal(object.spec.controllerName, "traefik.io/gateway-controller");
        assert.equal(writtenOutputs(stack, name).gatewayClass, gatewayClass);
        assert.equal(
          helmValues(stack, name).providers.kubernetesGateway.labelSelector,
          `app.kubernetes.io/name=${gatewayClass}`,
        );
      }
    }
  });
});

describe("the internal gateway", () => {
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

  it("advertises exactly the server's service range through its subnet router", () => {
    for (const stack of stacks) {
      const range = serviceCidr(stack);
      assert.deepEqual(writtenOutputs(stack, "internal-gateway").advertisedRoutes, [range]);
      const router = written(stack, "internal-gateway", "Deployment", "tailscale-router");
      const env = router.spec.template.spec.containers[0].env as Record<string, any>[];
      assert.equal(env.find((variable) => variable.name === "TS_ROUTES")?.value, range);
      assert.equal(env.find((variable) => variable.name === "TS_HOSTNAME")?.value, `${stack}-router`);
    }
  });

  it("authenticates the router with a pre-authorized, tagged, single-use key that never appears in the output", () => {
    for (const stack of stacks) {
      const [key] = resources(stack, "internal-gateway", "tailscale:index/tailnetKey:TailnetKey");
      assert.ok(key, `${stack} has no TailnetKey`);
      assert.equal(key.inputs.preauthorized, true);
      assert.equal(key.inputs.reusable, false);
      assert.deepEqual(key.inputs.tags, ["tag:k8s-router"]);
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

  it("auto-approves the router tag for every server's actual service range, and lets the admins reach them on the configured ports", () => {
    const [acl] = resources(policyOwner, "internal-gateway", "tailscale:index/acl:Acl");
    const policy = JSON.parse(acl?.inputs.acl);
    const ranges = stacks.map(serviceCidr);
    assert.deepEqual(
      policy.autoApprovers.routes,
      Object.fromEntries(ranges.map((range) => [range, ["tag:k8s-router"]])),
    );
    assert.deepEqual(Object.keys(policy.tagOwners).sort(), ["tag:k8s-router", "tag:vpn-relay"]);
    const configured = JSON.parse(
      readStackConfig(readProject(join(projectsDir, "internal-gateway")), policyOwner).values[
        "internal-gateway:tailnetPolicy"
      ] ?? "{}",
    ).ports;
    assert.deepEqual(policy.grants[0], { src: ["group:admins"], dst: ranges, ip: configured });
    // The gateways' HTTP(S), and Syncthing's sync protocol on its fixed address.
    assert.deepEqual(configured, ["tcp:80", "tcp:443", "tcp:22000", "udp:22000"]);
  });

  /** Runs internal-gateway on `stack` with its config changed, against the exports synth produced. */
  async function runWithConfig(stack: string, change: (values: Record<string, string>) => void) {
    const info = readProject(join(projectsDir, "internal-gateway"));
    const config = readStackConfig(info, stack);
    change(config.values);
    return runProgram(
      info,
      stack,
      config,
      (name) =>
        report.results.find((result) => result.stack === stack)?.projects.find((p) => p.project === name)
          ?.outputs,
      [pulumiDir],
    );
  }

  it("fails on a stack that does not own it but has its config, naming the key and the stack", async () => {
    const owner = readStackConfig(readProject(join(projectsDir, "internal-gateway")), policyOwner);
    const run = await runWithConfig("cloud-b", (values) => {
      values["internal-gateway:tailnetPolicy"] = owner.values["internal-gateway:tailnetPolicy"] ?? "";
    });
    assert.equal(run.errors.length, 1, run.errors.join("\n"));
    assert.match(run.errors[0] ?? "", /"internal-gateway:tailnetPolicy" is set on stack "cloud-b"/);
  });

  it("fails when it lists the owning server's range differently from the server's shared config", async () => {
    const run = await runWithConfig(policyOwner, (values) => {
      const settings = JSON.parse(values["internal-gateway:tailnetPolicy"] ?? "{}");
      settings.serviceCidrs[policyOwner] = "10.99.0.0/16";
      values["internal-gateway:tailnetPolicy"] = JSON.stringify(settings);
    });
    assert.equal(run.errors.length, 1, run.errors.join("\n"));
    assert.match(
      run.errors[0] ?? "",
      /tailnetPolicy\.serviceCidrs\.cloud-a" of stack "cloud-a" is 10\.99\.0\.0\/16/,
    );
  });
});

describe("the public gateway", () => {
  it("publishes Traefik on the node's ports 80/443, keeping the client's source address", () => {
    for (const stack of stacks) {
      const values = helmValues(stack, "public-gateway");
      assert.deepEqual(values.service.spec, { type: "LoadBalancer", externalTrafficPolicy: "Local" });
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

  it("exports the server's public address for DNS records", () => {
    for (const stack of stacks) {
      assert.equal(
        writtenOutputs(stack, "public-gateway").publicIp,
        writtenOutputs(stack, "shared").server.publicIp,
      );
    }
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
